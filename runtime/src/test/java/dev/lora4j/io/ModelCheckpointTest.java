package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.api.LoRA;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.testing.Bitwise;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A model checkpoint from an adapted model: the base's tensors only, whatever adapters it carries. */
class ModelCheckpointTest {

    static final class Net extends Module {
        @LoRA(rank = 2, alpha = 4) final Linear query = new Linear(5, 5);
        final Linear head = new Linear(5, 3);

        Tensor forward(INDArray x) {
            return head.forward(query.forward(Tensor.constant(x)).relu());
        }
    }

    private static final INDArray X = Init.normal(new Random(4), 1, 3, 5);

    @TempDir
    Path dir;

    private static Net base() {
        Init.seed(8);
        return new Net();
    }

    private static INDArray out(Net net) {
        return net.forward(X).value().dup();
    }

    /** Injected like the agent would, with the head trained alongside and every factor non-zero. */
    private static LoraModel<Net> adapted() {
        LoraModel<Net> lora = Lora.adopt(Lora.inject(base()).model(), "head");
        Random random = new Random(1);
        lora.model().trainableParameters().forEach(p -> p.value().assign(Init.normal(random, 0.5, p.shape())));
        return lora;
    }

    @Test
    void anAdaptedModelSavesTheTensorsOfThePlainModelAndLoadsThemBack() throws Exception {
        LoraModel<Net> lora = adapted();
        Path file = dir.resolve("model.safetensors");
        ModelCheckpoint.save(lora.model(), file);
        try (SafetensorsFile saved = SafetensorsFile.open(file)) {
            Set<String> names = saved.tensors().stream().map(TensorInfo::name).collect(Collectors.toSet());
            assertEquals(ModelCheckpoint.state(base()).keySet(), names, "the plain model's names, no lora_A/lora_B");
        }
        Net plain = base();
        Map<String, Object[]> before = Bitwise.snapshot(plain);
        ModelCheckpoint.load(plain, file); // strict: nothing missing, nothing extra
        assertEquals(Map.of("head.weight", "changed", "head.bias", "changed").keySet(),
                Bitwise.differences(before, plain).keySet(), "the active adapter's trained head is what the layers hold");

        LoraModel<Net> other = Lora.inject(base());
        INDArray a = other.layers().get("query").adapter("default").a().value().dup();
        ModelCheckpoint.load(other.model(), file);
        assertTrue(Bitwise.equal(a, other.layers().get("query").adapter("default").a().value()), "adapters untouched");
    }

    @Test
    void aCleanBaseComesFromAnAdaptedModelWithItsAdaptersSwitchedOff() throws Exception {
        LoraModel<Net> lora = adapted();
        lora.disableAdapters();
        Path clean = dir.resolve("base.safetensors");
        ModelCheckpoint.save(lora.model(), clean);
        lora.enableAdapters();

        Net fromClean = base();
        fromClean.query.weight().value().addi(1); // so that loading has something to undo
        fromClean.head.weight().value().addi(1);
        ModelCheckpoint.load(fromClean, clean);
        assertEquals(Map.of(), Bitwise.differences(Bitwise.snapshot(base()), fromClean),
                "the original base, head included, bit for bit");
    }

    @Test
    void aMergedModelSavesTheMergedWeightsAndSwitchingOffGivesTheBaseBackUpToRounding() throws Exception {
        LoraModel<Net> lora = adapted();
        INDArray adaptedOut = out(lora.model());
        lora.merge();
        Path merged = dir.resolve("merged.safetensors");
        ModelCheckpoint.save(lora.model(), merged);
        Net fromMerged = base();
        ModelCheckpoint.load(fromMerged, merged);
        double diff = out(fromMerged).sub(adaptedOut).amaxNumber().doubleValue();
        assertTrue(diff < 1e-5, "a merged model's checkpoint computes the adapted outputs: " + diff);

        lora.disableAdapters(); // unmerges: W + s·B·A − s·B·A, equal to W up to float32 rounding
        Path clean = dir.resolve("base.safetensors");
        ModelCheckpoint.save(lora.model(), clean);
        Net fromClean = base();
        ModelCheckpoint.load(fromClean, clean);
        double weight = fromClean.query.weight().value().sub(base().query.weight().value()).amaxNumber().doubleValue();
        assertTrue(weight < 1e-6, "|W after unmerge − W| = " + weight);
        assertTrue(Bitwise.equal(base().head.weight().value(), fromClean.head.weight().value()), "the original head");
    }

    @Test
    void aCheckpointHoldingAdapterFactorsIsRefusedWithAHint() throws Exception {
        LoraModel<Net> lora = adapted();
        Path file = dir.resolve("with-factors.safetensors");
        Map<String, INDArray> tensors = new java.util.LinkedHashMap<>(ModelCheckpoint.state(lora.model()));
        tensors.put("query.lora_A.default.weight", lora.layers().get("query").adapter("default").a().value());
        SafetensorsWriter.write(file, tensors, Map.of());
        Net plain = base();
        Map<String, Object[]> before = Bitwise.snapshot(plain);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> ModelCheckpoint.load(plain, file));
        assertTrue(e.getMessage().contains("query.lora_A.default.weight") && e.getMessage().contains("Lora.load"), e.getMessage());
        assertFalse(e.getMessage().contains("null"));
        assertEquals(Map.of(), Bitwise.differences(before, plain));
    }
}
