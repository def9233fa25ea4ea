package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.BiasMode;
import dev.lora4j.api.LoraInit;
import dev.lora4j.lora.LoraConfig;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** PEFT adapter_config.json fields to a LoraConfig: every field that maps, every one refused. */
class PeftConfigConverterTest {

    private static LoraConfig convert(String members) {
        return PeftConfigConverter.toLoraConfig(PeftAdapterConfig.parse("{\"peft_type\": \"LORA\"" + members + "}", "lora.json"));
    }

    private static String refusal(String members) {
        return assertThrows(PeftConfigException.class, () -> convert(members)).getMessage();
    }

    @Test
    void everyFieldLora4jKnowsCarriesOver() {
        LoraConfig config = convert(", \"r\": 4, \"lora_alpha\": 12, \"lora_dropout\": 0.1,"
                + " \"target_modules\": [\"query\", \"value\"], \"exclude_modules\": [\"blocks.0.attention.value\"],"
                + " \"rank_pattern\": {\"value\": 2, \"blocks\\\\.1\\\\..*\": 3}, \"alpha_pattern\": {\"value\": 6.5},"
                + " \"modules_to_save\": [\"head\", \"head\"], \"bias\": \"lora_only\", \"use_rslora\": true,"
                + " \"init_lora_weights\": \"gaussian\", \"fan_in_fan_out\": true, \"task_type\": \"CAUSAL_LM\"");
        assertEquals(4, config.rank());
        assertEquals(12.0, config.alpha());
        assertEquals(0.1, config.dropout());
        assertEquals(List.of("query", "value"), config.targetModules());
        assertNull(config.targetRegex());
        assertEquals(List.of("blocks.0.attention.value"), config.excludeModules());
        assertEquals(List.of("value", "blocks\\.1\\..*"), List.copyOf(config.rankPattern().keySet()), "file order kept");
        assertEquals(Map.of("value", 2, "blocks\\.1\\..*", 3), config.rankPattern());
        assertEquals(Map.of("value", 6.5), config.alphaPattern());
        assertEquals(List.of("head"), config.modulesToSave(), "duplicates dropped");
        assertEquals(BiasMode.LORA_ONLY, config.bias());
        assertTrue(config.rslora());
        assertEquals(LoraInit.GAUSSIAN, config.init());
        assertTrue(config.fanInFanOut());
        assertFalse(config.targets("blocks.0.attention.value"), "excluded");
        assertTrue(config.targets("blocks.1.attention.value"));
        assertEquals(2, config.settingsFor("blocks.0.attention.value").rank());
        assertEquals(3, config.settingsFor("blocks.1.attention.query").rank());
        assertEquals(4, config.settingsFor("blocks.0.attention.query").rank());
    }

    @Test
    void absentFieldsTakePeftDefaults() {
        LoraConfig config = convert(", \"target_modules\": [\"q\"]");
        assertEquals(8, config.rank());
        assertEquals(8.0, config.alpha(), "PEFT's lora_alpha default is 8 whatever r is");
        assertEquals(0.0, config.dropout());
        assertEquals(LoraInit.KAIMING_UNIFORM, config.init());
        assertEquals(BiasMode.NONE, config.bias());
        assertFalse(config.rslora());
        assertEquals(List.of(), config.excludeModules());
        assertEquals(4.0, convert(", \"r\": 16, \"lora_alpha\": 4, \"target_modules\": [\"q\"]").alpha());
    }

    @Test
    void aTargetStringIsARegexOverWholePaths() {
        LoraConfig config = convert(", \"target_modules\": \"blocks\\\\.[01]\\\\.attention\\\\.(query|value)\"");
        assertEquals("blocks\\.[01]\\.attention\\.(query|value)", config.targetRegex());
        assertTrue(config.targets("blocks.1.attention.query"));
        assertFalse(config.targets("blocks.2.attention.query"));
        assertFalse(config.targets("attention.query"));
    }

    static Stream<Arguments> refusals() {
        return Stream.of(
                Arguments.of("",
                        "lora.json: field 'target_modules' is missing: list the layers to adapt (e.g. [\"query\", \"value\"]) or give a regex over module paths"),
                Arguments.of(", \"target_modules\": \"all-linear\", \"task_type\": \"SEQ_CLS\"",
                        "lora.json: field 'task_type' \"SEQ_CLS\" with target_modules \"all-linear\" leaves out a score or"
                                + " classifier head by PEFT's rule, which lora4j applies to adapter files only; put the head in"
                                + " modules_to_save and drop task_type"),
                Arguments.of(", \"target_modules\": \"all-linear\", \"layers_to_transform\": 0",
                        "lora.json: field 'layers_to_transform' cannot be used when target_modules is \"all-linear\" (PEFT"
                                + " refuses it too); list the module names, or put the layers in the regex"),
                Arguments.of(", \"target_modules\": \"q.*\", \"layers_pattern\": \"layers\"",
                        "lora.json: field 'layers_pattern' cannot be used when target_modules is a regex string (PEFT refuses it too)"),
                Arguments.of(", \"target_modules\": [\"q\"], \"layers_pattern\": [\"layers\"]",
                        "lora.json: field 'layers_pattern' is set without layers_to_transform; it only says where the layer"
                                + " index is (PEFT refuses it alone too)"),
                Arguments.of(", \"target_modules\": [\"q\"], \"layers_to_transform\": [0], \"layers_pattern\": [\"h\", \"\"]",
                        "lora.json: field 'layers_pattern' holds an empty name, which finds no layer index in any module path"),
                Arguments.of(", \"target_modules\": [\"q\"], \"layers_to_transform\": [0, -2]",
                        "lora.json: field 'layers_to_transform' must be a layer index or a list of them (integers >= 0), got [0,-2]"),
                Arguments.of(", \"target_modules\": [\"q\"], \"lora_bias\": true",
                        "lora.json: field 'lora_bias' is set, but a bias on lora_B is not supported by lora4j"),
                Arguments.of(", \"target_modules\": [\"q\"], \"target_parameters\": [\"w\"]",
                        "lora.json: field 'target_parameters' is set, but adapting parameters rather than layers is not supported by lora4j; use target_modules"),
                Arguments.of(", \"target_modules\": [\"q\"], \"init_lora_weights\": \"loftq\"",
                        "lora.json: field 'init_lora_weights' \"loftq\" is not supported by lora4j; use true, false, \"gaussian\","
                                + " \"pissa\", \"pissa_niter_N\" or \"olora\""),
                Arguments.of(", \"target_modules\": []",
                        "lora.json: target_modules is empty: name the layers to adapt, e.g. targetModules(\"q\", \"v\")"));
    }

    @ParameterizedTest
    @MethodSource("refusals")
    void whatLora4jCannotDoExactlyIsRefusedInOneLineNamingFileAndField(String members, String message) {
        assertEquals(message, refusal(members));
    }

    @Test
    void layerSelectionFieldsCarryOver() {
        LoraConfig config = convert(", \"target_modules\": [\"query\", \"\"], \"layers_to_transform\": [0, 1],"
                + " \"layers_pattern\": \"layers\", \"exclude_modules\": \".*\\\\.1\\\\.query\"");
        assertEquals(List.of("query"), config.targetModules(), "a blank name selects nothing in PEFT: dropped");
        assertEquals(List.of(0, 1), config.layersToTransform());
        assertEquals(List.of("layers"), config.layersPattern());
        assertEquals(".*\\.1\\.query", config.excludeRegex());
        assertTrue(config.targets("m.layers.0.query"));
        assertFalse(config.targets("m.layers.1.query"), "excluded by the regex");
        assertFalse(config.targets("m.layers.2.query"), "not in layers_to_transform");
        LoraConfig single = convert(", \"target_modules\": [\"q\"], \"layers_to_transform\": 2, \"layers_pattern\": [\"h\", \"layers\"]");
        assertEquals(List.of(2), single.layersToTransform(), "a single index is a list of one, as PEFT reads it");
        assertEquals(List.of("h", "layers"), single.layersPattern());
        assertEquals(List.of(), convert(", \"target_modules\": [\"q\"], \"layers_to_transform\": [0], \"layers_pattern\": \"\"")
                .layersPattern(), "an empty layers_pattern is PEFT's default");
    }

    @Test
    void allLinearCarriesOverInAnyCase() {
        LoraConfig config = convert(", \"target_modules\": \"all-linear\", \"exclude_modules\": [\"pooler\"]");
        assertTrue(config.targetsAllLinear());
        assertEquals(List.of("pooler"), config.excludeModules());
        assertTrue(convert(", \"target_modules\": \"ALL-Linear\"").targetsAllLinear(), "PEFT compares target_modules.lower()");
        assertTrue(convert(", \"target_modules\": \"all-linear\", \"task_type\": \"CAUSAL_LM\"").targetsAllLinear());
    }

    @Test
    void useDoraBecomesTheDoraOption() {
        assertTrue(convert(", \"target_modules\": [\"q\"], \"use_dora\": true").dora());
        assertFalse(convert(", \"target_modules\": [\"q\"]").dora(), "absent: off, as in PEFT");
    }

    @Test
    void unsetOptionalFeaturesAreNotRefused() {
        LoraConfig config = convert(", \"target_modules\": [\"q\"], \"use_dora\": false, \"lora_bias\": false,"
                + " \"target_parameters\": null, \"layers_to_transform\": null, \"exclude_modules\": null,"
                + " \"modules_to_save\": null, \"rank_pattern\": {}, \"alpha_pattern\": {}");
        assertEquals(List.of("q"), config.targetModules());
    }
}
