package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora;
import dev.lora4j.api.BiasMode;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.io.internal.AdapterDirectoryWriter;
import dev.lora4j.io.internal.PeftConfigMapping;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.Bitwise;
import dev.lora4j.testing.TinyTransformer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Train → save in PEFT's layout → load into a fresh model → the same outputs. */
class AdapterFilesRoundTripTest {

    private static final int VOCAB = 10;
    private static final int DIM = 16;
    private static final INDArray IDS = Nd4j.createFromArray(new int[][] {{1, 2, 3, 4, 5}, {6, 7, 8, 9, 0}});
    private static final int[] TARGETS = {2, 3, 4, 5, 6, 7, 8, 9, 0, 1};

    @TempDir
    Path dir;

    private static TinyTransformer freshModel() {
        Init.seed(11);
        return new TinyTransformer(VOCAB, DIM, 2, 2, 8);
    }

    /** q/v linear adapters, an embedding adapter, a per-module rank and alpha, a saved head, trained biases. */
    private static LoraConfig config() {
        return LoraConfig.builder().rank(4).alpha(8).targetModules("query", "value", "tokens")
                .rankPattern("value", 2).alphaPattern("value", 3)
                .modulesToSave("head").bias(BiasMode.LORA_ONLY).seed(5).build();
    }

    private static void train(TinyTransformer model, int steps) {
        CrossEntropyLoss loss = new CrossEntropyLoss();
        model.train();
        for (int step = 0; step < steps; step++) {
            Tensor l = loss.compute(model.forward(IDS), TARGETS);
            l.backward();
            for (Parameter p : model.trainableParameters()) {
                p.value().subi(p.grad().mul(0.1));
            }
            model.zeroGrad();
        }
        model.eval();
    }

    private static INDArray logits(TinyTransformer model) {
        model.eval();
        return model.forward(IDS).value().dup();
    }

    private LoraModel<TinyTransformer> trained() {
        LoraModel<TinyTransformer> lora = Lora.wrap(freshModel(), config());
        train(lora.model(), 5);
        return lora;
    }

    @Test
    void trainedAdapterSavedAndLoadedIntoAFreshModelGivesBitwiseIdenticalOutputs() throws Exception {
        LoraModel<TinyTransformer> lora = trained();
        INDArray expected = logits(lora.model());
        INDArray base = logits(freshModel());
        assertNotEquals(base, expected, "training must have changed the outputs");

        Lora.save(lora, dir);
        LoraModel<TinyTransformer> loaded = Lora.load(freshModel(), dir);

        assertTrue(Bitwise.equal(expected, logits(loaded.model())), "outputs after save → load must be bitwise equal");
        assertEquals(lora.layers().keySet(), loaded.layers().keySet());
        loaded.layers().forEach((path, layer) ->
                assertEquals(lora.layers().get(path).adapter("default").spec(), layer.adapter("default").spec(), path));
        assertEquals(lora.summary().trainable(), loaded.summary().trainable(), "the same parameters train after loading");
    }

    @Test
    void savedFilePassesTheStrictReaderWithExactlyPeftsKeysAndShapes() throws Exception {
        Lora.save(trained(), dir);
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
            assertEquals(Map.of("format", "pt"), file.metadata());
            Map<String, List<Long>> shapes = file.tensors().stream().collect(Collectors.toMap(TensorInfo::name,
                    t -> Stream.of(box(t.shape())).toList()));
            Map<String, List<Long>> expected = new HashMap<>();
            String p = "base_model.model.";
            expected.put(p + "tokens.lora_embedding_A", List.of(4L, (long) VOCAB));
            expected.put(p + "tokens.lora_embedding_B", List.of((long) DIM, 4L));
            for (int i = 0; i < 2; i++) {
                String att = p + "blocks." + i + ".attention.";
                expected.put(att + "query.lora_A.weight", List.of(4L, (long) DIM));
                expected.put(att + "query.lora_B.weight", List.of((long) DIM, 4L));
                expected.put(att + "value.lora_A.weight", List.of(2L, (long) DIM));
                expected.put(att + "value.lora_B.weight", List.of((long) DIM, 2L));
                expected.put(att + "query.base_layer.bias", List.of((long) DIM));
                expected.put(att + "value.base_layer.bias", List.of((long) DIM));
            }
            expected.put(p + "head.weight", List.of((long) VOCAB, (long) DIM));
            expected.put(p + "head.bias", List.of((long) VOCAB));
            assertEquals(expected, shapes);
            file.tensors().forEach(t -> assertEquals(DType.F32, t.dtype(), t.name()));
        }
        JsonNode json = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
        assertEquals("LORA", json.get("peft_type").textValue());
        assertEquals(4, json.get("r").intValue());
        assertTrue(json.get("lora_alpha").isInt(), "whole alphas are written as integers, as PEFT does");
        assertEquals(8, json.get("lora_alpha").intValue());
        assertEquals(0.0, json.get("lora_dropout").doubleValue());
        assertEquals(List.of("query", "value", "tokens"), strings(json.get("target_modules")));
        assertEquals(2, json.get("rank_pattern").get("value").intValue());
        assertEquals(3, json.get("alpha_pattern").get("value").intValue());
        assertEquals(List.of("head"), strings(json.get("modules_to_save")));
        assertEquals("lora_only", json.get("bias").textValue());
        assertFalse(json.get("use_rslora").booleanValue());
        assertFalse(json.get("fan_in_fan_out").booleanValue());
        assertTrue(json.get("init_lora_weights").booleanValue());
        assertTrue(json.get("task_type").isNull());
        assertTrue(json.get("base_model_name_or_path").isNull());
        assertTrue(json.get("inference_mode").booleanValue(), "PEFT's save_pretrained writes inference_mode true");
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(Set.of("adapter_config.json", "adapter_model.safetensors"),
                    files.map(f -> f.getFileName().toString()).collect(Collectors.toSet()), "no base weights, no leftovers");
        }
    }

    @Test
    void configRoundTripsThroughAdapterConfigJson() throws Exception {
        LoraModel<TinyTransformer> lora = trained();
        AdapterFiles.save(lora, dir, AdapterSaveOptions.defaults().withBaseModelNameOrPath("tiny").withTaskType("CAUSAL_LM"));
        PeftAdapterConfig read = PeftAdapterConfig.read(dir);
        assertEquals("tiny", read.baseModelNameOrPath().orElseThrow());
        assertEquals("CAUSAL_LM", read.taskType().orElseThrow());
        LoraConfig back = PeftConfigMapping.fromPeft(read, lora.layers().keySet());
        LoraConfig original = lora.config("default");
        assertEquals(original.rank(), back.rank());
        assertEquals(original.alpha(), back.alpha());
        assertEquals(original.dropout(), back.dropout());
        assertEquals(original.targetModules(), back.targetModules());
        assertEquals(original.rankPattern(), back.rankPattern());
        assertEquals(original.alphaPattern(), back.alphaPattern());
        assertEquals(original.modulesToSave(), back.modulesToSave());
        assertEquals(original.bias(), back.bias());
        assertEquals(original.init(), back.init());
        assertEquals(original.rslora(), back.rslora());
        assertEquals(original.fanInFanOut(), back.fanInFanOut());

        // save → load → save writes the same bytes
        byte[] config = Files.readAllBytes(dir.resolve("adapter_config.json"));
        byte[] weights = Files.readAllBytes(dir.resolve("adapter_model.safetensors"));
        LoraModel<TinyTransformer> loaded = Lora.load(freshModel(), dir);
        Path again = dir.resolve("again");
        AdapterFiles.save(loaded, again, AdapterSaveOptions.defaults().withBaseModelNameOrPath("tiny").withTaskType("CAUSAL_LM"));
        assertArrayEquals(config, Files.readAllBytes(again.resolve("adapter_config.json")));
        assertArrayEquals(weights, Files.readAllBytes(again.resolve("adapter_model.safetensors")));
    }

    @Test
    void namedAdaptersGoToSubfoldersAndLoadUnderTheirNames() throws Exception {
        LoraModel<TinyTransformer> lora = trained();
        lora.addAdapter("other", LoraConfig.builder().rank(2).targetModules("key").seed(9).build());
        lora.setActiveAdapters("other");
        train(lora.model(), 2);
        INDArray otherOut = logits(lora.model());
        lora.setActiveAdapters("default");
        INDArray defaultOut = logits(lora.model());

        Lora.save(lora, dir);
        assertTrue(Files.exists(dir.resolve("adapter_model.safetensors")));
        assertTrue(Files.exists(dir.resolve("other/adapter_config.json")));
        assertTrue(Files.exists(dir.resolve("other/adapter_model.safetensors")));

        LoraModel<TinyTransformer> loaded = Lora.load(freshModel(), dir);
        AdapterFiles.load(loaded, dir.resolve("other"), "other");
        assertEquals(List.of("default"), loaded.activeAdapters(), "a loaded second adapter starts inactive");
        assertTrue(Bitwise.equal(defaultOut, logits(loaded.model())));
        loaded.setActiveAdapters("other");
        assertTrue(Bitwise.equal(otherOut, logits(loaded.model())));
    }

    @Test
    void biasAllSavesEveryBiasUnderItsPeftNameAndLoadsThemBack() throws Exception {
        LoraModel<TinyTransformer> lora = Lora.wrap(freshModel(), LoraConfig.builder().rank(2).targetModules("query")
                .bias(BiasMode.ALL).seed(1).build());
        train(lora.model(), 3);
        INDArray expected = logits(lora.model());
        Lora.save(lora, dir);
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
            Set<String> names = file.tensors().stream().map(TensorInfo::name).collect(Collectors.toSet());
            assertTrue(names.contains("base_model.model.blocks.0.attention.query.base_layer.bias"), "adapted: wrapped name");
            assertTrue(names.contains("base_model.model.blocks.0.attention.key.bias"), "not adapted: plain name");
            assertTrue(names.contains("base_model.model.blocks.1.norm2.bias"), "every bias, as PEFT's bias='all'");
            assertTrue(names.contains("base_model.model.head.bias"));
        }
        LoraModel<TinyTransformer> loaded = Lora.load(freshModel(), dir);
        assertTrue(Bitwise.equal(expected, logits(loaded.model())));
    }

    @ParameterizedTest
    @ValueSource(strings = {"weights", "config", "commit"})
    void aSaveThatFailsMidwayLeavesThePreviousAdapterByteIdentical(String failingStep) throws Exception {
        LoraModel<TinyTransformer> lora = trained();
        Lora.save(lora, dir);
        byte[] config = Files.readAllBytes(dir.resolve("adapter_config.json"));
        byte[] weights = Files.readAllBytes(dir.resolve("adapter_model.safetensors"));

        train(lora.model(), 2); // new values that a successful save would write
        AdapterDirectoryWriter.Checkpoint crash = step -> {
            if (step.equals(failingStep)) {
                throw new IOException("simulated failure before " + step);
            }
        };
        IOException e = assertThrows(IOException.class,
                () -> AdapterFiles.saveAdapter(lora, "default", dir, AdapterSaveOptions.defaults(), crash));
        assertTrue(e.getMessage().contains(failingStep));

        assertArrayEquals(config, Files.readAllBytes(dir.resolve("adapter_config.json")));
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("adapter_model.safetensors")));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(Set.of("adapter_config.json", "adapter_model.safetensors"),
                    files.map(f -> f.getFileName().toString()).collect(Collectors.toSet()), "staged files are removed");
        }
        Lora.save(lora, dir);
        assertFalse(java.util.Arrays.equals(weights, Files.readAllBytes(dir.resolve("adapter_model.safetensors"))),
                "a save without failure replaces the weights");
    }

    private static Long[] box(long[] shape) {
        return java.util.Arrays.stream(shape).boxed().toArray(Long[]::new);
    }

    private static List<String> strings(JsonNode array) {
        return java.util.stream.StreamSupport.stream(array.spliterator(), false).map(JsonNode::textValue).toList();
    }
}
