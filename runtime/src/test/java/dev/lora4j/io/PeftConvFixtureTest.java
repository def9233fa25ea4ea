package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.testing.TinyCnn;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Convolution adapters written by PEFT 0.21.0 (see {@code fixtures/peft/tiny-cnn/PROVENANCE.md}):
 * they load into lora4j's {@link TinyCnn} with the PyTorch base weights, and the forward pass,
 * the in-model merge and the model-free checkpoint merge reproduce PyTorch's numbers. This checks
 * lora4j's convolution, batch norm (running statistics), pooling and LoRA math against PyTorch.
 */
class PeftConvFixtureTest {

    @TempDir
    Path dir;

    private static Path fixture(String name) throws Exception {
        return Path.of(PeftConvFixtureTest.class.getResource("/fixtures/peft/tiny-cnn/" + name).toURI());
    }

    private static INDArray read(SafetensorsFile file, String name) {
        return file.read(name).castTo(DataType.FLOAT);
    }

    private static double maxAbsDiff(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }

    private static TinyCnn baseModel(int groups, String directory) throws Exception {
        TinyCnn model = new TinyCnn(groups);
        ModelCheckpoint.load(model, fixture(directory + "/base.safetensors"));
        return model;
    }

    private static INDArray logits(TinyCnn model, INDArray input) {
        model.eval();
        return model.forward(Tensor.constant(input)).value().dup();
    }

    @Test
    void peftConvAdapterReproducesPyTorchsOutputs() throws Exception {
        try (SafetensorsFile expected = SafetensorsFile.open(fixture("plain/expected.safetensors"))) {
            TinyCnn model = baseModel(1, "plain");
            assertEquals(7, model.norm1.batchesTracked(), "PyTorch's int64 buffer read");
            LoraModel<TinyCnn> lora = Lora.load(model, fixture("plain"));
            assertArrayEquals(new long[] {4, 4, 3, 3}, lora.layers().get("conv2").adapter("default").a().shape());
            INDArray input = read(expected, "input");
            INDArray ours = logits(model, input);
            double diff = maxAbsDiff(read(expected, "logits"), ours);
            assertTrue(diff < 1e-5, "lora4j vs PEFT logits max abs diff " + diff);

            lora.mergeAndUnload();
            double merged = maxAbsDiff(read(expected, "merged_logits"), logits(model, input));
            assertTrue(merged < 1e-5, "merged logits vs PEFT's merge_and_unload, max abs diff " + merged);
            for (String name : new String[] {"conv1.weight", "conv2.weight", "head.weight"}) {
                double w = maxAbsDiff(read(expected, "merged." + name), model.namedParameters().get(name).value());
                assertTrue(w < 1e-6, name + " after merge vs PEFT's, max abs diff " + w);
            }
        }
    }

    @Test
    void modelFreeMergeMatchesPeftsMergedStateDict() throws Exception {
        Path out = dir.resolve("merged.safetensors");
        CheckpointMerger.Result result = CheckpointMerger.merge(fixture("plain/base.safetensors"), fixture("plain"), out);
        assertEquals(Map.of("conv1", "conv1.weight", "conv2", "conv2.weight"), result.merged());
        try (SafetensorsFile merged = SafetensorsFile.open(out);
                SafetensorsFile expected = SafetensorsFile.open(fixture("plain/expected.safetensors"))) {
            for (TensorInfo t : merged.tensors()) {
                INDArray want = expected.read("merged." + t.name());
                double diff = maxAbsDiff(want.castTo(DataType.DOUBLE), merged.read(t.name()).castTo(DataType.DOUBLE));
                assertTrue(diff < 1e-6, t.name() + " max abs diff " + diff);
            }
        }
    }

    @Test
    void groupedConvAdapterRunsAsInPeftAndRefusesToMerge() throws Exception {
        try (SafetensorsFile expected = SafetensorsFile.open(fixture("grouped/expected.safetensors"))) {
            TinyCnn model = baseModel(2, "grouped");
            LoraModel<TinyCnn> lora = Lora.load(model, fixture("grouped"));
            assertArrayEquals(new long[] {8, 2, 1, 1}, lora.layers().get("conv2").adapter("default").b().shape());
            double diff = maxAbsDiff(read(expected, "logits"), logits(model, read(expected, "input")));
            assertTrue(diff < 1e-5, "lora4j vs PEFT logits max abs diff " + diff);
            INDArray conv1 = model.conv1.weight().value().dup();
            UnsupportedOperationException refused = assertThrows(UnsupportedOperationException.class, lora::merge);
            assertTrue(refused.getMessage().contains("conv2"), refused.getMessage());
            assertEquals(conv1, model.conv1.weight().value(), "nothing merged: conv1 comes before conv2 but stays as it was");
            assertTrue(lora.layers().get("conv1").merged().isEmpty());
            AdapterException e = assertThrows(AdapterException.class, () -> CheckpointMerger.merge(
                    fixture("grouped/base.safetensors"), fixture("grouped"), dir.resolve("never.safetensors")));
            assertTrue(e.getMessage().contains("grouped"), e.getMessage());
        }
    }
}
