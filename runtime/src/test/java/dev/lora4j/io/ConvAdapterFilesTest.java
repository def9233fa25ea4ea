package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.CombinationType;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.Bitwise;
import dev.lora4j.testing.TinyCnn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Convolution adapters in PEFT's layout: the saved names and shapes ({@code lora_A.weight [r, in,
 * kh, kw]}, {@code lora_B.weight [out, r/groups, 1, 1]}), save → load round trips, shape errors,
 * model checkpoints with BatchNorm buffers, and the model-free merge into a checkpoint.
 */
class ConvAdapterFilesTest {

    private static final INDArray IMAGES = Nd4j.randn(3L, new long[] {6, 1, 8, 8}).castTo(DataType.FLOAT);
    private static final int[] LABELS = {0, 1, 2, 0, 1, 2};

    @TempDir
    Path dir;

    private static TinyCnn fresh(int groups) {
        Init.seed(21);
        return new TinyCnn(groups);
    }

    private static LoraConfig config() {
        return LoraConfig.builder().rank(4).alpha(8).targetModules("conv1", "conv2").modulesToSave("head").seed(3).build();
    }

    private static void train(TinyCnn model, int steps) {
        CrossEntropyLoss loss = new CrossEntropyLoss();
        model.train();
        for (int step = 0; step < steps; step++) {
            loss.compute(model.forward(Tensor.constant(IMAGES)), LABELS).backward();
            for (Parameter p : model.trainableParameters()) {
                p.value().subi(p.grad().mul(0.2));
            }
            model.zeroGrad();
        }
        model.eval();
    }

    private static INDArray logits(TinyCnn model) {
        model.eval();
        return model.forward(Tensor.constant(IMAGES)).value().dup();
    }

    private static Map<String, List<Long>> shapes(Path file) throws Exception {
        Map<String, List<Long>> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (TensorInfo t : f.tensors()) {
                out.put(t.name(), java.util.Arrays.stream(t.shape()).boxed().toList());
            }
        }
        return out;
    }

    @Test
    void savedConvAdapterHasPeftsNamesAndShapes() throws Exception {
        LoraModel<TinyCnn> lora = Lora.wrap(fresh(1), config());
        train(lora.model(), 3);
        Lora.save(lora, dir);
        String p = "base_model.model.";
        assertEquals(Map.of(
                p + "conv1.lora_A.weight", List.of(4L, 1L, 3L, 3L),
                p + "conv1.lora_B.weight", List.of(4L, 4L, 1L, 1L),
                p + "conv2.lora_A.weight", List.of(4L, 4L, 3L, 3L),
                p + "conv2.lora_B.weight", List.of(8L, 4L, 1L, 1L),
                p + "head.weight", List.of(3L, 8L),
                p + "head.bias", List.of(3L)), shapes(dir.resolve("adapter_model.safetensors")));
        JsonNode config = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
        assertEquals(4, config.get("r").asInt());
        assertEquals(8, config.get("lora_alpha").asInt());
        assertEquals("LORA", config.get("peft_type").asText());
    }

    @Test
    void groupedConvAdapterSavesBWithRankPerGroup() throws Exception {
        LoraModel<TinyCnn> lora = Lora.wrap(fresh(2), config());
        Lora.save(lora, dir);
        Map<String, List<Long>> shapes = shapes(dir.resolve("adapter_model.safetensors"));
        assertEquals(List.of(4L, 4L, 3L, 3L), shapes.get("base_model.model.conv2.lora_A.weight"), "A has one group");
        assertEquals(List.of(8L, 2L, 1L, 1L), shapes.get("base_model.model.conv2.lora_B.weight"), "[out, r/groups, 1, 1]");
        train(lora.model(), 3);
        INDArray expected = logits(lora.model());
        Lora.save(lora, dir.resolve("trained"));
        LoraModel<TinyCnn> loaded = Lora.load(fresh(2), dir.resolve("trained"));
        assertTrue(Bitwise.equal(expected, logits(loaded.model())));
    }

    @Test
    void trainedConvAdapterRoundTripsBitwise() throws Exception {
        LoraModel<TinyCnn> lora = Lora.wrap(fresh(1), config());
        train(lora.model(), 5);
        INDArray expected = logits(lora.model());
        assertNotEquals(logits(fresh(1)), expected, "training changed the outputs");
        Lora.save(lora, dir);
        LoraModel<TinyCnn> loaded = Lora.load(fresh(1), dir);
        assertTrue(Bitwise.equal(expected, logits(loaded.model())));
        assertEquals(lora.summary().trainable(), loaded.summary().trainable());
        assertEquals(List.of("conv1", "conv2"), List.copyOf(loaded.layers().keySet()));
    }

    @Test
    void aFactorOfAnotherShapeIsRefusedNamingTheTensor() throws Exception {
        Lora.save(Lora.wrap(fresh(1), config()), dir);
        Path tampered = dir.resolve("tampered");
        Files.createDirectories(tampered);
        ObjectMapper json = new ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode config =
                (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(dir.resolve("adapter_config.json").toFile());
        config.put("r", 2);
        json.writeValue(tampered.resolve("adapter_config.json").toFile(), config);
        Files.copy(dir.resolve("adapter_model.safetensors"), tampered.resolve("adapter_model.safetensors"));
        TinyCnn model = fresh(1);
        INDArray before = logits(model);
        AdapterException e = assertThrows(AdapterException.class, () -> Lora.load(model, tampered));
        assertTrue(e.getMessage().contains("'base_model.model.conv1.lora_A.weight' has shape [4, 1, 3, 3]")
                && e.getMessage().contains("needs [2, 1, 3, 3]"), e.getMessage());
        assertTrue(Bitwise.equal(before, logits(model)), "a refused load changes nothing");
    }

    @Test
    void modelCheckpointHoldsParametersAndBatchNormBuffers() throws Exception {
        TinyCnn model = fresh(1);
        train(model, 3);
        assertTrue(model.norm1.batchesTracked() > 0);
        Path file = dir.resolve("model.safetensors");
        ModelCheckpoint.save(model, file);
        Map<String, List<Long>> shapes = shapes(file);
        assertEquals(List.of(4L), shapes.get("norm1.running_mean"));
        assertEquals(List.of(), shapes.get("norm1.num_batches_tracked"));
        assertEquals(List.of(4L, 1L, 3L, 3L), shapes.get("conv1.weight"));
        TinyCnn copy = fresh(1);
        assertNotEquals(logits(model), logits(copy));
        ModelCheckpoint.load(copy, file);
        assertTrue(Bitwise.equal(logits(model), logits(copy)));
        assertEquals(model.norm1.batchesTracked(), copy.norm1.batchesTracked());
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> ModelCheckpoint.load(fresh(2), file));
        assertTrue(e.getMessage().contains("conv2.weight"), e.getMessage());
    }

    @Test
    void adapterMergedIntoTheCheckpointWithoutAModelGivesTheAdaptedOutputs() throws Exception {
        TinyCnn base = fresh(1);
        train(base, 3);
        Path checkpoint = dir.resolve("base.safetensors");
        ModelCheckpoint.save(base, checkpoint);
        LoraModel<TinyCnn> lora = Lora.wrap(base, config());
        train(lora.model(), 4);
        INDArray adapted = logits(lora.model());
        Path adapter = dir.resolve("adapter");
        Lora.save(lora, adapter);
        Path merged = dir.resolve("merged.safetensors");
        CheckpointMerger.Result result = CheckpointMerger.merge(checkpoint, adapter, merged);
        assertEquals(Map.of("conv1", "conv1.weight", "conv2", "conv2.weight"), result.merged());
        TinyCnn plain = fresh(1);
        ModelCheckpoint.load(plain, merged);
        double diff = adapted.sub(logits(plain)).amaxNumber().doubleValue();
        assertTrue(diff < 1e-5, "merged checkpoint vs adapted model max abs diff " + diff);
        lora.safeMerge();
        assertTrue(adapted.sub(logits(lora.model())).amaxNumber().doubleValue() < 1e-5, "in-model merge agrees");
    }

    @Test
    void weightedCombinationsOfConvAdapters() {
        LoraModel<TinyCnn> lora = Lora.wrap(fresh(1), config());
        lora.addAdapter("other", LoraConfig.builder().rank(2).alpha(2).targetModules("conv1", "conv2").seed(4).build());
        lora.layers().values().forEach(layer -> layer.adapters().values().forEach(a ->
                a.b().value().assign(Nd4j.randn(7L, a.b().shape()).castTo(a.b().dataType()))));
        lora.addWeightedAdapter(List.of("default", "other"), List.of(0.5, 1.0), "svd", CombinationType.SVD, 4);
        lora.addWeightedAdapter(List.of("default", "other"), List.of(0.5, 1.0), "cat", CombinationType.CAT);
        var conv2 = lora.layers().get("conv2");
        assertArrayEquals(new long[] {4, 4, 3, 3}, conv2.adapter("svd").a().shape());
        assertArrayEquals(new long[] {8, 4, 1, 1}, conv2.adapter("svd").b().shape());
        assertArrayEquals(new long[] {6, 4, 3, 3}, conv2.adapter("cat").a().shape());
        INDArray expected = conv2.deltaWeight(conv2.adapter("default")).mul(0.5).add(conv2.deltaWeight(conv2.adapter("other")));
        assertTrue(expected.sub(conv2.deltaWeight(conv2.adapter("cat"))).amaxNumber().doubleValue() < 1e-5, "CAT is exact");
    }
}
