package dev.lora4j.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.io.PeftConfigException;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.internal.TargetInjector;
import dev.lora4j.testing.LayeredModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Target-spec files: PEFT's fields, lora4j's class list, one-line errors naming file and field. */
class TargetSpecTest {

    @TempDir
    Path dir;

    private static String error(String json) {
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> TargetSpec.parse(json, "lora.json"));
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void aFileNamesTheClassesAndGivesAPeftConfigWithoutPeftType() throws IOException {
        Path file = dir.resolve("lora.json");
        Files.writeString(file, """
                {
                  "lora4j_model_classes": ["com.acme.Encoder", "com.acme.Outer$Decoder", "com.acme.Encoder"],
                  "r": 4,
                  "lora_alpha": 8,
                  "target_modules": ["query", "value"],
                  "rank_pattern": {"value": 2},
                  "task_type": "FEATURE_EXTRACTION"
                }
                """, StandardCharsets.UTF_8);
        TargetSpec spec = TargetSpec.read(file);
        assertEquals(List.of("com.acme.Encoder", "com.acme.Outer$Decoder"), spec.modelClasses(), "duplicates dropped");
        assertEquals(file.toString(), spec.source());
        LoraConfig config = spec.config();
        assertEquals(4, config.rank());
        assertEquals(8.0, config.alpha());
        assertEquals(List.of("query", "value"), config.targetModules());
        assertEquals(Map.of("value", 2), config.rankPattern());
    }

    /**
     * PEFT's layer selection in a spec, applied as Lora.wrap applies it when the agent adapts a model;
     * the module lists are written by hand from PEFT 0.20's rule (see LayerSelectionTest).
     */
    @Test
    void aSpecSelectsLayersByPeftsRule() {
        TargetSpec allLinear = TargetSpec.parse("""
                {"lora4j_model_classes": ["com.acme.Encoder"], "target_modules": "all-linear",
                 "exclude_modules": "encoder\\\\.layers\\\\.0\\\\..*", "rank_pattern": {"dense": 2}}
                """, "lora.json");
        LayeredModel model = new LayeredModel(2, "lm_head");
        List<String> expected = List.of("encoder.layers.1.query", "encoder.layers.1.value", "encoder.layers.1.dense", "pooler");
        assertEquals(expected, List.copyOf(allLinear.config().targetedModules(model)));
        LoraModel<LayeredModel> lora = TargetInjector.inject(model, allLinear.config(), "lora.json");
        assertEquals(expected, List.copyOf(lora.layers().keySet()));
        assertEquals(2, lora.layers().get("encoder.layers.1.dense").adapter(LoraModel.DEFAULT_ADAPTER).spec().rank());

        TargetSpec layers = TargetSpec.parse("""
                {"lora4j_model_classes": ["com.acme.Encoder"], "target_modules": ["query"],
                 "layers_to_transform": 1, "layers_pattern": ["blocks", "layers"]}
                """, "lora.json");
        assertEquals(List.of(1), layers.config().layersToTransform());
        assertEquals(List.of("encoder.layers.1.query"), List.copyOf(layers.config().targetedModules(new LayeredModel(2))));

        assertEquals("lora.json: field 'layers_to_transform' must be a layer index or a list of them (integers >= 0), got -1",
                error("{\"lora4j_model_classes\": [\"com.acme.A\"], \"target_modules\": [\"q\"], \"layers_to_transform\": -1}"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TargetInjector.inject(
                new LayeredModel(2), layers.config().toBuilder().layersToTransform(5).build(), "lora.json, new LayeredModel"));
        assertTrue(e.getMessage().startsWith("lora.json, new LayeredModel: no module matches target_modules [query] with"
                + " layers_to_transform [5] (layers_pattern [blocks, layers]): layers_to_transform [5] names no layer of the"
                + " modules target_modules selects, whose layer indices are [0, 1]"), e.getMessage());
    }

    @Test
    void everyProblemIsOneLineNamingTheFileAndTheField() {
        String valid = "\"target_modules\": [\"q\"]";
        assertEquals("lora.json: field 'lora4j_model_classes' is missing: list the binary names of the model classes "
                + "to adapt, e.g. [\"com.acme.Encoder\"]", error("{" + valid + "}"));
        assertEquals("lora.json: field 'lora4j_model_classes' must be a list of class names, got \"com.acme.A\"",
                error("{\"lora4j_model_classes\": \"com.acme.A\", " + valid + "}"));
        assertEquals("lora.json: field 'lora4j_model_classes' must hold only strings, found 3",
                error("{\"lora4j_model_classes\": [3], " + valid + "}"));
        assertEquals("lora.json: field 'lora4j_model_classes' is empty; name at least one model class",
                error("{\"lora4j_model_classes\": [], " + valid + "}"));
        assertEquals("lora.json: field 'lora4j_model_classes' holds 'com.acme.Model#forward', which is not a binary "
                        + "class name such as com.acme.Encoder or com.acme.Outer$Encoder",
                error("{\"lora4j_model_classes\": [\"com.acme.Model#forward\"], " + valid + "}"));
        assertTrue(error("{\"lora4j_model_classes\": [\"java.util.ArrayList\"], " + valid + "}")
                .contains("holds java.util.ArrayList, which is in a package the agent never instruments"));
        assertEquals("lora.json: field 'lora4j_model_class' is not known; lora4j's own field is 'lora4j_model_classes'",
                error("{\"lora4j_model_class\": [\"com.acme.A\"], " + valid + "}"));
        assertEquals("lora.json: field 'r' must be an integer >= 1, got 0",
                error("{\"lora4j_model_classes\": [\"com.acme.A\"], \"r\": 0, " + valid + "}"));
        assertEquals("lora.json: field 'target_modules' is missing: list the layers to adapt (e.g. [\"query\", \"value\"]) "
                + "or give a regex over module paths", error("{\"lora4j_model_classes\": [\"com.acme.A\"]}"));
        assertEquals("lora.json: field 'peft_type' must be \"LORA\", got \"IA3\"",
                error("{\"lora4j_model_classes\": [\"com.acme.A\"], \"peft_type\": \"IA3\", " + valid + "}"));
        assertEquals("lora.json: field 'rank_pattern' value for 'q' must be an integer >= 1, got 1.5",
                error("{\"lora4j_model_classes\": [\"com.acme.A\"], \"rank_pattern\": {\"q\": 1.5}, " + valid + "}"));
        assertTrue(error("{\"lora4j_model_classes\": [\"com.acme.A\"], " + valid).startsWith("lora.json: not valid JSON at line 1"));
        assertEquals("lora.json: expected a JSON object, found ARRAY", error("[]"));
    }

    @Test
    void aSpecInCodeChecksItsClassNames() {
        LoraConfig config = LoraConfig.builder().targetModules("q").build();
        TargetSpec spec = TargetSpec.of(config, "com.acme.A");
        assertEquals(List.of("com.acme.A"), spec.modelClasses());
        assertEquals("LoraConfig for [com.acme.A]", spec.source());
        assertEquals("model classes is empty; name at least one model class",
                assertThrows(IllegalArgumentException.class, () -> TargetSpec.of(config)).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TargetSpec.of(config, "dev.lora4j.nn.Linear"))
                .getMessage().contains("never instruments"));
        assertThrows(IllegalArgumentException.class, () -> TargetSpec.of(config, "com/acme/A"));
    }
}
