package dev.lora4j.io;

import static dev.lora4j.testing.LayeredModel.blockPaths;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Lora;
import dev.lora4j.api.LoraInit;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.testing.DistilBertLike;
import dev.lora4j.testing.LayeredModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Layer selection in {@code adapter_config.json}, both ways: what lora4j writes for {@code
 * "all-linear"}, {@code layers_to_transform}, {@code layers_pattern} and {@code exclude_modules},
 * and what it selects when it reads them (hand-edited configs, as PEFT or a user writes them). The
 * expected module lists are written by hand from PEFT 0.20's rule ({@code
 * check_target_module_exists}, {@code _maybe_include_all_linear_layers}), as in {@code
 * LayerSelectionTest}.
 */
class LayerSelectionFilesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static List<String> allLinearOfTwoLayers() {
        List<String> expected = new ArrayList<>(blockPaths(new int[] {0, 1}, "query", "value", "dense"));
        expected.add("pooler");
        return expected;
    }

    private LoraModel<LayeredModel> saved(LayeredModel model, LoraConfig config) throws IOException {
        LoraModel<LayeredModel> lora = LoraModel.wrap(model, "default", config);
        Lora.save(lora, dir);
        return lora;
    }

    private JsonNode writtenConfig() throws IOException {
        return JSON.readTree(dir.resolve(PeftAdapterConfig.FILE_NAME).toFile());
    }

    /** Replaces fields of the written adapter_config.json, as a user or another tool would write them. */
    private void editConfig(Consumer<ObjectNode> edit) throws IOException {
        ObjectNode config = (ObjectNode) writtenConfig();
        edit.accept(config);
        Files.writeString(dir.resolve(PeftAdapterConfig.FILE_NAME), JSON.writeValueAsString(config));
    }

    private static LoraConfig.Builder random() {
        return LoraConfig.builder().rank(2).alpha(4).init(LoraInit.RANDOM).seed(7);
    }

    /**
     * PEFT expands "all-linear" on the model and saves the expansion (peft_config.target_modules
     * becomes the set of linear module names before save_pretrained writes it): so does lora4j, as
     * exact module paths, which select the same layers in PEFT whatever its output-layer rule.
     */
    @Test
    void allLinearIsWrittenAsItsExpansionAndLoadsBack() throws IOException {
        LoraModel<LayeredModel> lora = saved(new LayeredModel(2, "lm_head"), random().targetAllLinear().build());
        JsonNode config = writtenConfig();
        List<String> written = new ArrayList<>();
        config.get("target_modules").forEach(n -> written.add(n.textValue()));
        assertEquals(allLinearOfTwoLayers(), written);
        assertTrue(config.get("exclude_modules").isNull());
        assertTrue(config.get("layers_to_transform").isNull());

        LoraModel<LayeredModel> back = Lora.load(new LayeredModel(2, "lm_head"), dir);
        assertEquals(allLinearOfTwoLayers(), List.copyOf(back.layers().keySet()));
        assertEquals(lora.layers().get("pooler").adapter("default").b().value(),
                back.layers().get("pooler").adapter("default").b().value());
    }

    /** A config that says "all-linear" (any case, as PEFT lower-cases it) selects on the model it is loaded into. */
    @Test
    void anAllLinearConfigIsExpandedOnTheModel() throws IOException {
        saved(new LayeredModel(2, "lm_head"), random().targetAllLinear().excludeModules("dense").build());
        editConfig(c -> {
            c.put("target_modules", "ALL-linear");
            c.put("exclude_modules", ".*\\.dense");
        });
        LoraModel<LayeredModel> back = Lora.load(new LayeredModel(2, "lm_head"), dir);
        List<String> expected = new ArrayList<>(blockPaths(new int[] {0, 1}, "query", "value"));
        expected.add("pooler");
        assertEquals(expected, List.copyOf(back.layers().keySet()));
        LoraConfig config = back.config("default");
        assertTrue(config.targetsAllLinear());
        assertEquals(".*\\.dense", config.excludeRegex());
        assertEquals(expected, List.copyOf(PeftAdapterConfig.read(dir).targetedModules(new LayeredModel(2, "lm_head"))));
    }

    /**
     * PEFT with task_type SEQ_CLS and no output embeddings leaves the model's score (else classifier)
     * out of "all-linear"; without it the head is a Linear like the others, so the file lacks its factors.
     */
    @Test
    void sequenceClassificationLeavesTheScoreHeadOut() throws IOException {
        saved(new LayeredModel(2, "score"), random().targetAllLinear().excludeModules("score").build());
        editConfig(c -> {
            c.put("target_modules", "all-linear");
            c.put("task_type", "SEQ_CLS");
        });
        LoraModel<LayeredModel> back = Lora.load(new LayeredModel(2, "score"), dir);
        assertEquals(allLinearOfTwoLayers(), List.copyOf(back.layers().keySet()));
        assertEquals(allLinearOfTwoLayers(), back.config("default").targetModules(),
                "a LoraConfig cannot carry the head rule: the exact paths");

        editConfig(c -> c.putNull("task_type"));
        AdapterException e = assertThrows(AdapterException.class, () -> Lora.load(new LayeredModel(2, "score"), dir));
        assertTrue(e.getMessage().contains("tensor 'base_model.model.score.lora_A.weight' is missing"), e.getMessage());
    }

    /** The model-free merge takes the layers from the weights file: an "all-linear" config merges every pair. */
    @Test
    void theModelFreeMergeTakesAnAllLinearAdapter() throws IOException {
        LayeredModel model = new LayeredModel(2, "lm_head");
        Path base = dir.resolve("base.safetensors");
        ModelCheckpoint.save(model, base);
        Path adapter = dir.resolve("adapter");
        Lora.save(LoraModel.wrap(model, "default", random().targetAllLinear().rankPattern("dense", 3).build()), adapter);
        Path config = adapter.resolve(PeftAdapterConfig.FILE_NAME);
        ObjectNode json = (ObjectNode) JSON.readTree(config.toFile());
        json.put("target_modules", "all-linear");
        Files.writeString(config, JSON.writeValueAsString(json));
        CheckpointMerger.Result result = CheckpointMerger.merge(base, adapter, dir.resolve("merged.safetensors"));
        assertEquals(new TreeSet<>(allLinearOfTwoLayers()), new TreeSet<>(result.merged().keySet()));
    }

    @Test
    void layersToTransformLayersPatternAndExcludeRegexRoundTrip() throws IOException {
        LoraConfig config = random().targetModules("query", "value").layersToTransform(1, 2).layersPattern("layers")
                .excludeRegex(".*\\.2\\.value").rankPattern("value", 3).build();
        saved(new LayeredModel(3), config);
        JsonNode written = writtenConfig();
        assertEquals("[\"query\",\"value\"]", written.get("target_modules").toString());
        assertEquals("[1,2]", written.get("layers_to_transform").toString());
        assertEquals("\"layers\"", written.get("layers_pattern").toString());
        assertEquals("\".*\\\\.2\\\\.value\"", written.get("exclude_modules").toString());

        LoraModel<LayeredModel> back = Lora.load(new LayeredModel(3), dir);
        assertEquals(List.of("encoder.layers.1.query", "encoder.layers.1.value", "encoder.layers.2.query"),
                List.copyOf(back.layers().keySet()));
        assertEquals(3, back.layers().get("encoder.layers.1.value").adapter("default").spec().rank());
        LoraConfig read = back.config("default");
        assertEquals(List.of(1, 2), read.layersToTransform());
        assertEquals(List.of("layers"), read.layersPattern());
        assertEquals(".*\\.2\\.value", read.excludeRegex());

        // saved again from the loaded model: the same selection fields
        Path again = dir.resolve("again");
        Lora.save(back, again);
        JsonNode rewritten = JSON.readTree(again.resolve(PeftAdapterConfig.FILE_NAME).toFile());
        for (String field : List.of("target_modules", "layers_to_transform", "layers_pattern", "exclude_modules", "rank_pattern")) {
            assertEquals(written.get(field), rewritten.get(field), field);
        }
    }

    @Test
    void rankAndAlphaPatternsWithAllLinearRoundTrip() throws IOException {
        saved(new LayeredModel(2, "lm_head"), random().targetAllLinear().rankPattern("dense", 3)
                .alphaPattern("layers\\.1\\..*", 8).build());
        JsonNode written = writtenConfig();
        assertEquals("{\"dense\":3}", written.get("rank_pattern").toString());
        assertEquals("{\"layers\\\\.1\\\\..*\":8}", written.get("alpha_pattern").toString());
        LoraModel<LayeredModel> back = Lora.load(new LayeredModel(2, "lm_head"), dir);
        assertEquals(3, back.layers().get("encoder.layers.0.dense").adapter("default").spec().rank());
        assertEquals(2, back.layers().get("encoder.layers.0.query").adapter("default").spec().rank());
        assertEquals(8.0, back.layers().get("encoder.layers.1.query").adapter("default").spec().alpha());
        assertEquals(4.0, back.layers().get("pooler").adapter("default").spec().alpha());
    }

    @Test
    void aLayersPatternThatFindsNothingFailsTheLoadNamingTheField() throws IOException {
        saved(new LayeredModel(2), random().targetModules("query").build());
        editConfig(c -> {
            c.putArray("layers_to_transform").add(0);
            c.put("layers_pattern", "blocks");
        });
        AdapterException e = assertThrows(AdapterException.class, () -> Lora.load(new LayeredModel(2), dir));
        assertTrue(e.getMessage().contains("adapter_config.json target_modules [query] select no module of the model:"
                + " layers_pattern [blocks] finds no layer index in the paths target_modules selects (such as"
                + " encoder.layers.0.query)"), e.getMessage());
    }

    @Test
    void invalidSelectionFieldsAreRefusedNamingTheField() {
        assertRefused("\"target_modules\": [\"q\"], \"layers_to_transform\": -1", "field 'layers_to_transform' must be a layer index");
        assertRefused("\"target_modules\": \"all-linear\", \"layers_to_transform\": [0]",
                "field 'layers_to_transform' cannot be used when target_modules is \"all-linear\"");
        assertRefused("\"target_modules\": \".*q\", \"layers_to_transform\": [0]",
                "field 'layers_to_transform' cannot be used when target_modules is a regex string");
        assertRefused("\"target_modules\": [\"q\"], \"layers_pattern\": \"layers\"",
                "field 'layers_pattern' is set without layers_to_transform");
        assertRefused("\"target_modules\": [\"q\"], \"exclude_modules\": \"(\"",
                "field 'exclude_modules' '(' is not a valid regular expression");
    }

    /**
     * PEFT's DistilBERT fixture (target_modules [q_lin, v_lin], 6 layers) with layers_to_transform
     * added: the index follows the segment layers_pattern names (distilbert.transformer.layer.3...).
     */
    @Test
    void peftsFixtureSelectsLayersByTheNamedSegment() throws Exception {
        for (String name : List.of(PeftAdapterConfig.FILE_NAME, AdapterFiles.WEIGHTS_FILE)) {
            Files.copy(Path.of(getClass().getResource("/fixtures/peft/distilbert-emotion/" + name).toURI()), dir.resolve(name));
        }
        editConfig(c -> {
            c.putArray("layers_to_transform").add(0).add(1).add(2).add(3).add(4).add(5);
            c.put("layers_pattern", "layer");
        });
        LoraModel<DistilBertLike> back = Lora.load(DistilBertLike.forFixture(3), dir);
        assertEquals(12, back.layers().size());

        editConfig(c -> c.putArray("layers_to_transform").add(0).add(1));
        AdapterException e = assertThrows(AdapterException.class, () -> Lora.load(DistilBertLike.forFixture(3), dir));
        assertTrue(e.getMessage().contains("is for distilbert.transformer.layer.2.attention.q_lin, which adapter_config.json"
                + " does not target"), e.getMessage());
    }

    /** PeftAdapterConfig, LoraConfig and TargetModules answer with one matcher. */
    @Test
    void theFileAndTheConfigSelectAlike() {
        LayeredModel model = new LayeredModel(4, "lm_head");
        PeftAdapterConfig file = PeftAdapterConfig.parse("{\"peft_type\": \"LORA\", \"target_modules\": [\"query\","
                + " \"dense\"], \"layers_to_transform\": [0, 3], \"exclude_modules\": [\"encoder.layers.3.dense\"]}", "f");
        LoraConfig config = PeftConfigConverter.toLoraConfig(file);
        List<String> expected = List.of("encoder.layers.0.query", "encoder.layers.0.dense", "encoder.layers.3.query");
        assertEquals(expected, List.copyOf(file.targetedModules(model)));
        assertEquals(expected, List.copyOf(config.targetedModules(model)));
        for (String path : model.namedModules().keySet()) {
            if (!path.isEmpty()) {
                assertEquals(file.targets(path), config.targets(path), path);
            }
        }
        List<String> allLinear = new ArrayList<>(blockPaths(new int[] {0, 1, 2, 3}, "query", "value", "dense"));
        allLinear.add("pooler");
        assertEquals(allLinear, List.copyOf(TargetModules.regex("all-linear").select(model)));
        assertEquals(blockPaths(new int[] {0, 1, 2, 3}, "value"), List.copyOf(TargetModules.names("value").select(model)));
        assertFalse(TargetModules.regex(".*value").isAllLinear());
        assertNull(PeftAdapterConfig.parse("{\"peft_type\": \"LORA\"}", "f").whyNothingTargeted(model.namedModules()));
    }

    private static void assertRefused(String members, String message) {
        PeftConfigException e = assertThrows(PeftConfigException.class,
                () -> PeftAdapterConfig.parse("{\"peft_type\": \"LORA\", " + members + "}", "lora.json"));
        assertTrue(e.getMessage().startsWith("lora.json: " + message), e.getMessage());
    }
}
