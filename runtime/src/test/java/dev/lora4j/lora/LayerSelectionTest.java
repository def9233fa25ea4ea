package dev.lora4j.lora;

import static dev.lora4j.testing.LayeredModel.blockPaths;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.testing.LayeredModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Layer selection in memory ({@link LoraConfig}): {@code "all-linear"}, {@code
 * layers_to_transform}/{@code layers_pattern}, {@code exclude_modules} as a list or a regex, with
 * rank and alpha patterns. Every expected module list is written by hand from PEFT 0.20's rule
 * ({@code check_target_module_exists} and {@code _maybe_include_all_linear_layers} in {@code
 * peft/tuners/tuners_utils.py}), applied to {@link LayeredModel}'s module paths as PEFT applies it
 * to {@code model.named_modules()}.
 */
class LayerSelectionTest {

    private static final int[] ALL = {0, 1, 2, 3};

    /** PEFT: every nn.Linear; for a PreTrainedModel the output embeddings (lm_head) are removed. */
    @Test
    void allLinearTakesEveryLinearButTheOutputLayer() {
        LayeredModel model = new LayeredModel(4, "lm_head");
        LoraConfig config = LoraConfig.builder().rank(2).targetAllLinear().build();
        List<String> expected = new ArrayList<>(blockPaths(ALL, "query", "value", "dense"));
        expected.add("pooler"); // not embed (an Embedding), not the norms, not lm_head
        assertEquals(expected, List.copyOf(config.targetedModules(model)));
        assertTrue(config.targetsAllLinear());
        assertEquals("target_modules \"all-linear\"", config.describeTargets());

        LoraModel<LayeredModel> lora = LoraModel.wrap(model, "default", config);
        assertEquals(expected, List.copyOf(lora.layers().keySet()));
    }

    /**
     * A LoraConfig has no task type: as PEFT without {@code task_type: SEQ_CLS}, a classification
     * head is a Linear like the others, unless it is in modules_to_save (where PEFT's
     * sequence-classification models put {@code classifier} and {@code score}).
     */
    @Test
    void aClassifierHeadIsLeftOutThroughModulesToSave() {
        LayeredModel model = new LayeredModel(2, "classifier");
        List<String> linear = new ArrayList<>(blockPaths(new int[] {0, 1}, "query", "value", "dense"));
        linear.add("pooler");
        List<String> withHead = new ArrayList<>(linear);
        withHead.add("classifier");
        assertEquals(withHead, List.copyOf(LoraConfig.builder().targetAllLinear().build().targetedModules(model)));
        assertEquals(linear, List.copyOf(LoraConfig.builder().targetAllLinear().modulesToSave("classifier").build()
                .targetedModules(model)));
    }

    @Test
    void allLinearWithExcludeListAndExcludeRegex() {
        LayeredModel model = new LayeredModel(4, "lm_head");
        // list: a suffix or a whole path
        LoraConfig byList = LoraConfig.builder().targetAllLinear().excludeModules("dense", "pooler").build();
        assertEquals(blockPaths(ALL, "query", "value"), List.copyOf(byList.targetedModules(model)));
        // regex: a full match of the path (PEFT's re.fullmatch), here layers 0 and 1 entirely
        LoraConfig byRegex = LoraConfig.builder().targetAllLinear().excludeRegex("encoder\\.layers\\.[01]\\..*").build();
        List<String> expected = new ArrayList<>(blockPaths(new int[] {2, 3}, "query", "value", "dense"));
        expected.add("pooler");
        assertEquals(expected, List.copyOf(byRegex.targetedModules(model)));
        assertEquals("target_modules \"all-linear\" excluding regex 'encoder\\.layers\\.[01]\\..*'",
                byRegex.describeTargets());
        // a regex must match the whole path: "query" alone matches no path
        LoraConfig partial = LoraConfig.builder().targetModules("query").excludeRegex("query").build();
        assertEquals(blockPaths(ALL, "query"), List.copyOf(partial.targetedModules(model)));
    }

    /** PEFT's default layers_pattern: the first number after any segment but the first ({@code .*?\.[^.]*\.(\d+)\.}). */
    @Test
    void layersToTransformWithPeftsDefaultPattern() {
        LayeredModel model = new LayeredModel(4, "lm_head");
        LoraConfig config = LoraConfig.builder().targetModules("query", "value").layersToTransform(1, 3).build();
        assertEquals(blockPaths(new int[] {1, 3}, "query", "value"), List.copyOf(config.targetedModules(model)));
        assertTrue(config.targets("encoder.layers.3.value"));
        assertFalse(config.targets("encoder.layers.2.value"));
        assertFalse(config.targets("encoder.value"), "no layer index: not selected once layers_to_transform is set");
        assertTrue(config.targets("value"), "equal to an entry: selected whatever its layer, as in PEFT");
        assertEquals(blockPaths(new int[] {1, 3}, "query", "value"),
                List.copyOf(LoraModel.wrap(model, "default", config).layers().keySet()));
    }

    @Test
    void layersPatternNamesTheModuleList() {
        LayeredModel model = new LayeredModel(4, "lm_head");
        LoraConfig config = LoraConfig.builder().targetModules("dense").layersToTransform(0).layersPattern("blocks", "layers")
                .build();
        assertEquals(List.of("encoder.layers.0.dense"), List.copyOf(config.targetedModules(model)));
        assertEquals(List.of("blocks", "layers"), config.layersPattern());
        assertEquals("target_modules [dense] with layers_to_transform [0] (layers_pattern [blocks, layers])",
                config.describeTargets());
    }

    /** PEFT checks {@code key in target_modules} first: a whole-path entry is selected whatever its layer. */
    @Test
    void aWholePathEntryIgnoresLayersToTransform() {
        LayeredModel model = new LayeredModel(4);
        LoraConfig config = LoraConfig.builder().targetModules("query", "encoder.layers.0.value").layersToTransform(2)
                .build();
        assertEquals(List.of("encoder.layers.0.value", "encoder.layers.2.query"), List.copyOf(config.targetedModules(model)));
    }

    /** The layer list at the top of the model ({@code layers.0.query}) has no index for PEFT: nothing is selected. */
    @Test
    void aLayersPatternThatFindsNoIndexFailsNamingTheField() {
        Module flat = new Module() {
            public final List<LayeredModel.Block> layers = List.of(new LayeredModel.Block(), new LayeredModel.Block());
        };
        LoraConfig config = LoraConfig.builder().targetModules("query").layersToTransform(0).build();
        assertEquals(List.of(), List.copyOf(config.targetedModules(flat)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoraModel.wrap(flat, "default", config));
        assertTrue(e.getMessage().startsWith("no module matches target_modules [query] with layers_to_transform [0]:"
                + " layers_pattern (unset, so any segment) finds no layer index in the paths target_modules selects"
                + " (such as layers.0.query)"), e.getMessage());

        LayeredModel model = new LayeredModel(4);
        e = assertThrows(IllegalArgumentException.class, () -> LoraModel.wrap(model, "default",
                LoraConfig.builder().targetModules("query").layersToTransform(0).layersPattern("blocks").build()));
        assertTrue(e.getMessage().contains(": layers_pattern [blocks] finds no layer index in the paths target_modules"
                + " selects (such as encoder.layers.0.query)"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> LoraModel.wrap(model, "default",
                LoraConfig.builder().targetModules("query").layersToTransform(7).build()));
        assertTrue(e.getMessage().contains(": layers_to_transform [7] names no layer of the modules target_modules"
                + " selects, whose layer indices are [0, 1, 2, 3]"), e.getMessage());
    }

    @Test
    void allLinearOnAModelWithoutLinearLayersFailsNamingTheField() {
        Module noLinear = new Module() {
            public final Embedding embed = new Embedding(10, 4);
            public final LayerNorm norm = new LayerNorm(4);
        };
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraModel.wrap(noLinear, "default", LoraConfig.builder().targetAllLinear().build()));
        assertTrue(e.getMessage().startsWith("no module matches target_modules \"all-linear\": target_modules"
                + " \"all-linear\" selects no module: the model has no Linear layer;"), e.getMessage());

        Module onlyHead = new Module() {
            public final Embedding embed = new Embedding(10, 4);
            public final Linear lm_head = new Linear(4, 10);
        };
        e = assertThrows(IllegalArgumentException.class,
                () -> LoraModel.wrap(onlyHead, "default", LoraConfig.builder().targetAllLinear().build()));
        assertTrue(e.getMessage().contains("the model has no Linear layer other than its output layer lm_head, which"
                + " all-linear leaves out as PEFT does"), e.getMessage());

        LayeredModel model = new LayeredModel(1);
        e = assertThrows(IllegalArgumentException.class, () -> LoraModel.wrap(model, "default",
                LoraConfig.builder().targetAllLinear().excludeRegex(".*").build()));
        assertTrue(e.getMessage().contains("are all excluded by exclude_modules or modules_to_save"), e.getMessage());
    }

    @Test
    void badValuesAreRefusedNamingTheField() {
        assertRefused(LoraConfig.builder().targetModules("query").layersToTransform(0, -1),
                "layers_to_transform holds -1; layer indices are integers >= 0, got [0, -1]");
        assertRefused(LoraConfig.builder().targetModules("query").layersPattern("layers"),
                "layers_pattern [layers] is set without layers_to_transform");
        assertRefused(LoraConfig.builder().targetRegex(".*query").layersToTransform(0),
                "layers_to_transform [0] needs target_modules as a list of names, not the regex '.*query'");
        assertRefused(LoraConfig.builder().targetAllLinear().layersToTransform(0),
                "layers_to_transform [0] needs target_modules as a list of names, not \"all-linear\"");
        assertRefused(LoraConfig.builder().targetModules("query").layersToTransform(0).layersPattern(" "),
                "layers_pattern contains an empty name");
        assertRefused(LoraConfig.builder().targetModules("query").layersToTransform(0).layersPattern("lay[ers"),
                "layers_pattern 'lay[ers' is not a valid regular expression");
        assertRefused(LoraConfig.builder().targetModules("query").excludeRegex("("),
                "exclude_modules regex '(' is not a valid regular expression");
        assertRefused(LoraConfig.builder().targetModules("query").excludeModules(""), "exclude_modules contains an empty name");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> LoraConfig.builder().targetAllLinear().build().targets("pooler"));
        assertTrue(e.getMessage().contains("all-linear"), e.getMessage());
    }

    /** rank_pattern and alpha_pattern apply to whatever the selection picked (PEFT's get_pattern_key). */
    @Test
    void rankAndAlphaPatternsWorkWithEverySelection() {
        LayeredModel model = new LayeredModel(4, "lm_head");
        LoraModel<LayeredModel> allLinear = LoraModel.wrap(model, "default", LoraConfig.builder().rank(2).alpha(4)
                .targetAllLinear().excludeModules("pooler").rankPattern("dense", 3).alphaPattern("layers\\.1\\..*", 8).build());
        Map<String, String> specs = allLinear.layers().entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey,
                e -> e.getValue().adapter("default").spec().rank() + "/" + e.getValue().adapter("default").spec().alpha()));
        assertEquals(12, specs.size());
        assertEquals("2/4.0", specs.get("encoder.layers.0.query"));
        assertEquals("3/4.0", specs.get("encoder.layers.0.dense"));
        assertEquals("2/8.0", specs.get("encoder.layers.1.value"));
        assertEquals("3/8.0", specs.get("encoder.layers.1.dense"));

        LayeredModel other = new LayeredModel(4);
        LoraModel<LayeredModel> layered = LoraModel.wrap(other, "default", LoraConfig.builder().rank(2)
                .targetModules("query", "value").layersToTransform(2, 3).excludeRegex(".*\\.3\\.value")
                .rankPattern("encoder\\.layers\\.2\\..*", 5).build());
        assertEquals(List.of("encoder.layers.2.query", "encoder.layers.2.value", "encoder.layers.3.query"),
                List.copyOf(layered.layers().keySet()));
        assertEquals(5, layered.layers().get("encoder.layers.2.value").adapter("default").spec().rank());
        assertEquals(2, layered.layers().get("encoder.layers.3.query").adapter("default").spec().rank());
    }

    @Test
    void builderKeepsOneTargetFormAndToBuilderKeepsEveryField() {
        LoraConfig config = LoraConfig.builder().targetModules("query").layersToTransform(1).layersPattern("layers")
                .excludeRegex(".*0.*").build();
        LoraConfig copy = config.toBuilder().build();
        assertEquals(List.of(1), copy.layersToTransform());
        assertEquals(List.of("layers"), copy.layersPattern());
        assertEquals(".*0.*", copy.excludeRegex());
        assertEquals(List.of(), copy.excludeModules());
        LoraConfig allLinear = LoraConfig.builder().targetModules("query").targetAllLinear().excludeModules("x").build();
        assertTrue(allLinear.targetsAllLinear());
        assertEquals(List.of(), allLinear.targetModules());
        assertTrue(allLinear.toBuilder().build().targetsAllLinear());
        assertFalse(allLinear.toBuilder().targetRegex("q").build().targetsAllLinear());
        assertFalse(allLinear.toBuilder().targetModules("q").build().targetsAllLinear());
        assertEquals(null, LoraConfig.builder().targetModules("q").excludeRegex("a").excludeModules("b").build().excludeRegex());
    }

    private static void assertRefused(LoraConfig.Builder builder, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
    }
}
