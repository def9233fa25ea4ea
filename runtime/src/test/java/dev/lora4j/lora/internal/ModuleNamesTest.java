package dev.lora4j.lora.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.PeftConfigConverter;
import dev.lora4j.io.TargetModules;
import dev.lora4j.lora.LoraConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * PEFT's module-selection rules in one place ({@link ModuleNames}), and the two configs that use
 * them — an in-memory {@link LoraConfig} and an {@code adapter_config.json} — selecting the same
 * modules with the same ranks.
 */
class ModuleNamesTest {

    private static final List<String> PATHS = List.of(
            "encoder.layer.0.attention.query", "encoder.layer.0.attention.key", "encoder.layer.0.attention.value",
            "encoder.layer.1.attention.query", "encoder.layer.1.attention.value", "encoder.layer.10.attention.query",
            "encoder.layer.1.output.dense", "pooler.dense", "classifier", "classifier.query", "head.dense",
            "xquery", "encoder.layer.1.attention.xquery");

    @Test
    void listEntriesMatchWholeNamesAndDotSuffixesOnly() {
        assertTrue(ModuleNames.inList(List.of("query"), "encoder.layer.0.attention.query"));
        assertTrue(ModuleNames.inList(List.of("query"), "query"));
        assertTrue(ModuleNames.inList(List.of("attention.query"), "encoder.layer.0.attention.query"));
        assertFalse(ModuleNames.inList(List.of("query"), "encoder.layer.0.attention.xquery"));
        assertFalse(ModuleNames.inList(List.of(), "query"));
    }

    @Test
    void patternKeysMatchAfterADotAndTheFirstWins() {
        Map<String, Integer> keys = new LinkedHashMap<>();
        keys.put("layer\\.1\\..*", 4);
        keys.put("query", 16);
        assertEquals("layer\\.1\\..*", ModuleNames.patternKey(keys.keySet(), "encoder.layer.1.attention.query"));
        assertEquals("query", ModuleNames.patternKey(keys.keySet(), "encoder.layer.0.attention.query"));
        // no key: the name itself, so a literal lookup still works
        assertEquals("encoder.layer.0.attention.xquery",
                ModuleNames.patternKey(keys.keySet(), "encoder.layer.0.attention.xquery"));
    }

    @Test
    void modulesToSaveCoverTheModuleAndEverythingInside() {
        assertTrue(ModuleNames.isInModulesToSave("classifier", List.of("classifier")));
        assertTrue(ModuleNames.isInModulesToSave("classifier.query", List.of("classifier")));
        assertTrue(ModuleNames.isInModulesToSave("model.classifier.query", List.of("classifier")));
        assertFalse(ModuleNames.isInModulesToSave("xclassifier.query", List.of("classifier")));
    }

    @Test
    void layerIndicesFollowTheLayersPatternSegment() {
        assertTrue(ModuleNames.inLayers("encoder.layer.1.attention.query", List.of(1), List.of("layer")));
        assertFalse(ModuleNames.inLayers("encoder.layer.10.attention.query", List.of(1), List.of("layer")));
        assertTrue(ModuleNames.inLayers("encoder.layer.10.attention.query", List.of(10), List.of()));
        assertFalse(ModuleNames.inLayers("classifier", List.of(0), List.of()));
    }

    @Test
    void aCatastrophicRegexIsStoppedInAnInMemoryConfigToo() {
        LoraConfig config = LoraConfig.builder().targetRegex("(.*a){20}").build();
        long start = System.nanoTime();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> config.targets("a".repeat(30) + "b"));
        assertTrue(e.getMessage().contains("catastrophic backtracking"), e.getMessage());
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "gave up quickly");
    }

    @Test
    void anInMemoryConfigAndItsPeftFileSelectTheSameModules() {
        Map<String, Integer> ranks = new LinkedHashMap<>();
        ranks.put("layer\\.1\\..*", 4);
        ranks.put("value", 2);
        List<PeftAdapterConfig> files = List.of(
                PeftAdapterConfig.lora(8, 16, TargetModules.names("query", "value")),
                PeftAdapterConfig.lora(8, 16, TargetModules.names("query", "value"))
                        .withModulesToSave(List.of("classifier")).withRankPattern(ranks),
                PeftAdapterConfig.lora(8, 16, TargetModules.names("query", "value", "dense"))
                        .withExcludeModules(TargetModules.names("pooler.dense")),
                PeftAdapterConfig.lora(8, 16, TargetModules.regex(".*layer\\.1\\.attention\\.(query|value)"))
                        .withModulesToSave(List.of("head")));
        for (PeftAdapterConfig file : files) {
            LoraConfig memory = PeftConfigConverter.toLoraConfig(file);
            for (String path : PATHS) {
                assertEquals(file.targets(path), memory.targets(path), path + " under " + file);
                if (memory.targets(path)) {
                    assertEquals(file.rankFor(path), memory.settingsFor(path).rank(), "rank of " + path);
                    assertEquals(file.alphaFor(path), memory.settingsFor(path).alpha(), 0.0, "alpha of " + path);
                }
            }
        }
        // the case the two used to disagree on: a target inside a module trained in full
        LoraConfig saved = PeftConfigConverter.toLoraConfig(files.get(1));
        assertFalse(saved.targets("classifier.query"), "PEFT puts no adapter inside modules_to_save");
        assertTrue(saved.targets("encoder.layer.0.attention.query"));
    }
}
