package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.api.LoraInit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** adapter_config.json: validation, PEFT's pattern rules, unknown fields and formatting. */
class PeftAdapterConfigTest {

    private static final String Q0 = "distilbert.transformer.layer.0.attention.q_lin";
    private static final String Q1 = "distilbert.transformer.layer.1.attention.q_lin";
    private static final String V0 = "distilbert.transformer.layer.0.attention.v_lin";
    private static final String V1 = "distilbert.transformer.layer.1.attention.v_lin";

    @TempDir
    Path dir;

    /** A minimal valid config plus the given extra JSON members (already comma-free). */
    private static PeftAdapterConfig config(String members) {
        return PeftAdapterConfig.parse("{\"peft_type\": \"LORA\", \"r\": 8, \"lora_alpha\": 16"
                + (members.isEmpty() ? "" : ", " + members) + "}", "test.json");
    }

    private static void rejects(String json, String expectedMessage) {
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> PeftAdapterConfig.parse(json, "cfg.json"));
        assertEquals(expectedMessage, e.getMessage());
    }

    private static void rejectsMember(String member, String expectedMessage) {
        rejects("{\"peft_type\": \"LORA\", " + member + "}", expectedMessage);
    }

    @Test
    void rankMustBeAPositiveInteger() {
        rejectsMember("\"r\": 0", "cfg.json: field 'r' must be an integer >= 1, got 0");
        rejectsMember("\"r\": 2.5", "cfg.json: field 'r' must be an integer >= 1, got 2.5");
        rejectsMember("\"r\": \"8\"", "cfg.json: field 'r' must be an integer >= 1, got \"8\"");
    }

    @Test
    void alphaMustBePositive() {
        rejectsMember("\"lora_alpha\": 0", "cfg.json: field 'lora_alpha' must be a number > 0, got 0");
        rejectsMember("\"lora_alpha\": -16", "cfg.json: field 'lora_alpha' must be a number > 0, got -16");
        assertEquals(0.5, PeftAdapterConfig.parse("{\"peft_type\": \"LORA\", \"lora_alpha\": 0.5}", "t").loraAlpha());
    }

    @Test
    void dropoutMustBeBelowOne() {
        rejectsMember("\"lora_dropout\": 1.0", "cfg.json: field 'lora_dropout' must be a number in [0, 1), got 1.0");
        rejectsMember("\"lora_dropout\": -0.1", "cfg.json: field 'lora_dropout' must be a number in [0, 1), got -0.1");
        assertEquals(0.0, config("\"lora_dropout\": 0").loraDropout());
    }

    @Test
    void peftTypeMustBeLora() {
        rejects("{\"peft_type\": \"IA3\", \"r\": 8}", "cfg.json: field 'peft_type' must be \"LORA\", got \"IA3\"");
        rejects("{\"r\": 8}", "cfg.json: field 'peft_type' is missing; expected \"LORA\"");
    }

    @Test
    void biasMustBeOneOfThree() {
        rejectsMember("\"bias\": \"some\"", "cfg.json: field 'bias' must be \"none\", \"all\" or \"lora_only\", got \"some\"");
        assertEquals(dev.lora4j.api.BiasMode.LORA_ONLY, config("\"bias\": \"lora_only\"").bias());
    }

    @Test
    void fieldTypesAreChecked() {
        rejectsMember("\"target_modules\": 5",
                "cfg.json: field 'target_modules' must be a list of strings or a regex string, got 5");
        rejectsMember("\"target_modules\": [\"q\", 3]", "cfg.json: field 'target_modules' must hold only strings, found 3");
        rejectsMember("\"target_modules\": \"q_(lin\"",
                "cfg.json: field 'target_modules' 'q_(lin' is not a valid regular expression: Unclosed group");
        rejectsMember("\"use_dora\": \"yes\"", "cfg.json: field 'use_dora' must be true or false, got \"yes\"");
        rejectsMember("\"modules_to_save\": \"classifier\"",
                "cfg.json: field 'modules_to_save' must be a list of strings, got \"classifier\"");
        rejectsMember("\"rank_pattern\": {\"q_lin\": 0}",
                "cfg.json: field 'rank_pattern' value for 'q_lin' must be an integer >= 1, got 0");
        rejectsMember("\"alpha_pattern\": {\"q_lin\": \"x\"}",
                "cfg.json: field 'alpha_pattern' value for 'q_lin' must be a number > 0, got \"x\"");
        rejectsMember("\"layers_to_transform\": \"3\"",
                "cfg.json: field 'layers_to_transform' must be a layer index or a list of them (integers >= 0), got \"3\"");
        rejectsMember("\"init_lora_weights\": 1",
                "cfg.json: field 'init_lora_weights' must be true, false or a string such as \"gaussian\", got 1");
        rejectsMember("\"peft_version\": 20", "cfg.json: field 'peft_version' must be a string or null, got 20");
    }

    @Test
    void notJsonOrNotAnObject() {
        PeftConfigException e = assertThrows(PeftConfigException.class,
                () -> PeftAdapterConfig.parse("{\"r\": 8,", "cfg.json"));
        assertTrue(e.getMessage().startsWith("cfg.json: not valid JSON at line 1"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        rejects("[1]", "cfg.json: expected a JSON object, found ARRAY");
        rejects("", "cfg.json: expected a JSON object, found nothing");
    }

    @Test
    void readNamesTheFile() throws IOException {
        Path file = Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": -1}");
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> PeftAdapterConfig.read(dir));
        assertEquals(file + ": field 'r' must be an integer >= 1, got -1", e.getMessage());
    }

    @Test
    void invalidUtf8IsAConfigError() throws IOException {
        Path file = Files.write(dir.resolve("adapter_config.json"), new byte[] {'{', '"', (byte) 0xE9, '"', '}'});
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> PeftAdapterConfig.read(file));
        assertEquals(file + ": not valid UTF-8", e.getMessage());
    }

    @Test
    void defaultsForAbsentFields() {
        PeftAdapterConfig c = PeftAdapterConfig.parse("{\"peft_type\": \"LORA\", \"bias\": null}", "x");
        assertEquals(8, c.r());
        assertEquals(8.0, c.loraAlpha());
        assertEquals(0.0, c.loraDropout());
        assertEquals(dev.lora4j.api.BiasMode.NONE, c.bias());
        assertEquals(Optional.empty(), c.targetModules());
        assertEquals(Boolean.TRUE, c.initLoraWeights());
        assertFalse(c.targets(Q0), "no target modules selects nothing");
    }

    @Test
    void rankAndAlphaPatternsMatchSuffixesAfterADot() {
        PeftAdapterConfig c = config("\"rank_pattern\": {\"q_lin\": 4, \"layer.0.attention.v_lin\": 16},"
                + " \"alpha_pattern\": {\"v_lin\": 32}");
        assertEquals(4, c.rankFor(Q0));
        assertEquals(4, c.rankFor(Q1));
        assertEquals(16, c.rankFor(V0));
        assertEquals(8, c.rankFor(V1));
        assertEquals(8, c.rankFor("encoder.xq_lin"), "a suffix must start after a dot");
        assertEquals(4, c.rankFor("q_lin"), "a name equal to the key matches");
        assertEquals(32.0, c.alphaFor(V1));
        assertEquals(32.0, c.alphaFor(V0));
        assertEquals(16.0, c.alphaFor(Q0));
        assertEquals(16.0 / 4, c.scalingFor(Q0));
        assertEquals(32.0 / 16, c.scalingFor(V0));
    }

    @Test
    void patternKeysAreRegexesAndTheFirstMatchingKeyWins() {
        PeftAdapterConfig regex = config("\"rank_pattern\": {\"layer\\\\.[0-2]\\\\.attention\\\\..*\": 2}");
        assertEquals(2, regex.rankFor(Q1));
        assertEquals(8, regex.rankFor("distilbert.transformer.layer.3.attention.q_lin"));
        assertEquals(4, config("\"rank_pattern\": {\"q_lin\": 4, \"attention.q_lin\": 6}").rankFor(Q0));
        assertEquals(6, config("\"rank_pattern\": {\"attention.q_lin\": 6, \"q_lin\": 4}").rankFor(Q0));
    }

    @Test
    void rsloraScalesBySquareRoot() {
        PeftAdapterConfig c = config("\"use_rslora\": true, \"rank_pattern\": {\"q_lin\": 4}");
        assertEquals(16.0 / 2, c.scalingFor(Q0));
        assertEquals(16.0 / Math.sqrt(8), c.scalingFor(V0));
    }

    @Test
    void targetModulesAsARegex() {
        PeftAdapterConfig c = config("\"target_modules\": \".*\\\\.(q_lin|v_lin)\"");
        assertTrue(c.targetModules().orElseThrow().isRegex());
        assertTrue(c.targets(Q0));
        assertTrue(c.targets(V1));
        assertFalse(c.targets("distilbert.transformer.layer.0.attention.k_lin"));
        assertFalse(c.targets("q_lin"), "the regex must match the whole name");
        assertTrue(c.withR(4).targets(Q0), "copies keep the regex");
        assertThrows(UnsupportedOperationException.class, () -> config("\"target_modules\": \"all-linear\"").targets(Q0));
    }

    @Test
    void exclusionsLayersAndModulesToSave() {
        PeftAdapterConfig c = config("\"target_modules\": [\"q_lin\", \"v_lin\", \"lin\"],"
                + " \"exclude_modules\": [\"layer.0.attention.q_lin\"], \"modules_to_save\": [\"classifier\"]");
        assertFalse(c.targets(Q0));
        assertTrue(c.targets(Q1));
        assertFalse(c.targets("classifier.lin"), "inside a modules_to_save module");
        assertTrue(c.targets("pre_classifier.lin"), "pre_classifier is not classifier");
        PeftAdapterConfig layers = config("\"target_modules\": [\"q_lin\"], \"layers_to_transform\": [0, 2],"
                + " \"layers_pattern\": \"layer\"");
        assertTrue(layers.targets(Q0));
        assertFalse(layers.targets(Q1));
        assertTrue(layers.targets("distilbert.transformer.layer.2.attention.q_lin"));
        PeftAdapterConfig one = config("\"target_modules\": [\"q_lin\"], \"layers_to_transform\": 1");
        assertEquals(List.of(1), one.layersToTransform());
        assertTrue(one.targets(Q1));
        assertFalse(one.targets(Q0));
    }

    @Test
    void unknownFieldsSurviveEditsAndWrites() throws IOException {
        PeftAdapterConfig c = config("\"future_field\": {\"nested\": [1, 2.5, null]}, \"zeta\": \"z\"");
        PeftAdapterConfig edited = c.withR(4).withLoraAlpha(8).withModulesToSave(List.of("score"));
        edited.write(dir.resolve("a.json"));
        PeftAdapterConfig back = PeftAdapterConfig.read(dir.resolve("a.json"));
        assertEquals(edited, back);
        assertEquals(4, back.r());
        assertEquals("[1,2.5,null]", back.get("future_field").get("nested").toString());
        assertEquals("z", back.get("zeta").textValue());
        assertEquals(8, c.r(), "the original is unchanged");
    }

    @Test
    void newConfigIsWrittenTheWayPeftWritesIt() throws IOException {
        Map<String, Integer> ranks = new LinkedHashMap<>();
        ranks.put("v_proj", 16);
        PeftAdapterConfig c = PeftAdapterConfig.lora(8, 16, TargetModules.names("q_proj", "v_proj"))
                .withRankPattern(ranks)
                .withInitLoraWeights(LoraInit.GAUSSIAN)
                .withTaskType("CAUSAL_LM");
        String text = c.toJsonString();
        assertTrue(text.startsWith("{\n  \"alpha_pattern\": {},\n  \"base_model_name_or_path\": null,\n  \"bias\": \"none\","),
                text);
        assertTrue(text.contains("\n  \"lora_alpha\": 16,\n"), "whole alphas are integers: " + text);
        assertTrue(text.contains("\n  \"rank_pattern\": {\n    \"v_proj\": 16\n  },\n"), text);
        assertTrue(text.contains("\n  \"target_modules\": [\n    \"q_proj\",\n    \"v_proj\"\n  ],\n"), text);
        assertTrue(text.contains("\n  \"init_lora_weights\": \"gaussian\",\n"), text);
        assertTrue(text.endsWith("\n  \"use_rslora\": false\n}"), "sorted, no trailing newline: " + text);
        assertEquals(Optional.of(LoraInit.GAUSSIAN), c.loraInit());
        assertEquals(16, c.rankFor("model.layers.0.self_attn.v_proj"));
        Files.writeString(dir.resolve("adapter_config.json"), "old");
        c.write(dir);
        assertEquals(text, Files.readString(dir.resolve("adapter_config.json")));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
    }

    @Test
    void nonAsciiIsEscapedAsPythonDoes() {
        String text = config("\"base_model_name_or_path\": \"modèle\"").toJsonString();
        assertTrue(text.contains("\"mod\\u00E8le\"") || text.contains("\"mod\\u00e8le\""), text);
    }

    @Test
    void toJsonIsACopy() {
        PeftAdapterConfig c = config("");
        ObjectNode json = c.toJson();
        json.put("r", 99);
        assertEquals(8, c.r());
    }
}
