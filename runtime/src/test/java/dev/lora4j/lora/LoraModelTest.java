package dev.lora4j.lora;

import dev.lora4j.Lora;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.BiasMode;
import dev.lora4j.api.LoraInit;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.TinyTransformer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class LoraModelTest {

    private static final int DIM = 16;
    private static final int LAYERS = 2;
    private static final INDArray IDS = Nd4j.createFromArray(new int[][] {{1, 2, 3, 4, 5}, {6, 7, 8, 9, 0}});

    private TinyTransformer model;

    @BeforeEach
    void newModel() {
        Init.seed(11);
        model = new TinyTransformer(10, DIM, 2, LAYERS, 8);
    }

    private static LoraConfig.Builder qv() {
        return LoraConfig.builder().rank(4).alpha(8).targetModules("query", "value").seed(3);
    }

    private INDArray logits() {
        return model.forward(IDS).value().dup();
    }

    private static Map<String, INDArray> snapshot(Map<String, Parameter> parameters) {
        Map<String, INDArray> copy = new LinkedHashMap<>();
        parameters.forEach((name, p) -> copy.put(name, p.value().dup()));
        return copy;
    }

    @Test
    void wrapFreezesTheBaseAndAddsAdaptersOnTheTargetsOnly() {
        long baseCount = model.parameterCount();
        LoraModel<TinyTransformer> lora = Lora.wrap(model, qv().build());
        assertEquals(List.of("blocks.0.attention.query", "blocks.0.attention.value",
                "blocks.1.attention.query", "blocks.1.attention.value"), List.copyOf(lora.layers().keySet()));
        long expected = (long) LAYERS * 2 * 4 * (DIM + DIM); // r·(in+out) per adapted matrix
        assertEquals(expected, model.trainableParameterCount());
        assertEquals(baseCount + expected, model.parameterCount());
        model.namedParameters().forEach((name, p) ->
                assertEquals(name.contains(".lora_"), p.isTrainable(), name + " trainable iff it is a LoRA factor"));
        assertTrue(model.namedParameters().containsKey("blocks.1.attention.value.lora_B.default.weight"));
    }

    @Test
    void summaryPrintsPeftStyleCounts() {
        LoraModel<TinyTransformer> lora = Lora.wrap(model, qv().build());
        ParameterSummary summary = lora.summary();
        assertEquals(model.trainableParameterCount(), summary.trainable());
        assertEquals(model.parameterCount(), summary.total());
        String expectedLine = String.format(java.util.Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f",
                summary.trainable(), summary.total(), 100.0 * summary.trainable() / summary.total());
        assertEquals(expectedLine, summary.line());
        assertTrue(summary.table().contains("blocks.0.attention.query"), summary.table());
        long rowSum = summary.rows().stream().mapToLong(ParameterSummary.Row::parameters).sum();
        assertEquals(summary.total(), rowSum, "rows add up to the total");
    }

    @Test
    void randomAdaptersMergeAndUnmergeExactlyAcrossTheModel() {
        Map<String, INDArray> before = snapshot(model.namedParameters());
        LoraModel<TinyTransformer> lora = Lora.wrap(model, qv().init(LoraInit.RANDOM).build());
        INDArray adapted = logits();
        lora.merge();
        assertTrue(LoraLinearTest.maxAbsDiff(adapted, logits()) < 1e-5);
        lora.unmerge();
        before.forEach((name, value) -> assertTrue(
                LoraLinearTest.maxAbsDiff(value, model.namedParameters().get(name).value()) < 1e-6, name));
        INDArray merged = lora.mergeAndUnload() == model ? logits() : null;
        assertTrue(LoraLinearTest.maxAbsDiff(adapted, merged) < 1e-5);
        assertFalse(model.namedParameters().keySet().stream().anyMatch(n -> n.contains("lora_")));
        assertThrows(IllegalStateException.class, lora::merge, "an unloaded LoraModel refuses further work");
    }

    @Test
    void unloadGivesBackTheBaseModelBitwise() {
        Map<String, INDArray> before = snapshot(model.namedParameters());
        INDArray baseLogits = logits();
        LoraModel<TinyTransformer> lora = Lora.wrap(model, qv().init(LoraInit.RANDOM).build());
        assertNotEquals(baseLogits, logits());
        lora.merge();
        lora.unload();
        assertEquals(before.keySet(), model.namedParameters().keySet());
        before.forEach((name, value) -> assertTrue(
                LoraLinearTest.maxAbsDiff(value, model.namedParameters().get(name).value()) < 1e-6, name));
        assertTrue(LoraLinearTest.maxAbsDiff(baseLogits, logits()) < 1e-5);
    }

    @Test
    void safeMergeRefusesNonFiniteWeightsAndLeavesTheModelUntouched() {
        LoraModel<TinyTransformer> lora = Lora.wrap(model, qv().init(LoraInit.RANDOM).build());
        LoraLayer value1 = lora.layers().get("blocks.1.attention.value");
        value1.adapter("default").b().value().putScalar(0, 0, Double.POSITIVE_INFINITY);
        Map<String, INDArray> before = snapshot(model.namedParameters());
        IllegalStateException error = assertThrows(IllegalStateException.class, lora::safeMerge);
        assertTrue(error.getMessage().contains("blocks.1.attention.value.weight"), error.getMessage());
        before.forEach((name, value) -> assertEquals(value, model.namedParameters().get(name).value(), name));
        lora.layers().values().forEach(layer -> assertTrue(layer.merged().isEmpty()));
    }

    @Test
    void severalAdaptersSwitchAndDisable() {
        INDArray base = logits();
        LoraModel<TinyTransformer> lora = Lora.wrap(model, qv().init(LoraInit.RANDOM).build());
        INDArray withDefault = logits();
        lora.addAdapter("other", LoraConfig.builder().rank(2).targetModules("up").init(LoraInit.RANDOM).seed(5).build());
        assertEquals(List.of("default"), lora.activeAdapters());
        assertEquals(withDefault, logits(), "a new adapter starts inactive");
        assertFalse(model.namedParameters().get("blocks.0.up.lora_A.other.weight").isTrainable());
        lora.setActiveAdapters("other");
        INDArray withOther = logits();
        assertNotEquals(withDefault, withOther);
        assertTrue(model.namedParameters().get("blocks.0.up.lora_A.other.weight").isTrainable());
        assertFalse(model.namedParameters().get("blocks.0.attention.query.lora_A.default.weight").isTrainable());
        lora.setActiveAdapters("default", "other");
        assertNotEquals(withOther, logits());
        lora.disableAdapters();
        assertTrue(LoraLinearTest.maxAbsDiff(base, logits()) < 1e-6, "disabled gives the base output");
        lora.enableAdapters();
        lora.deleteAdapter("other");
        assertEquals(List.of("default"), lora.activeAdapters());
        assertTrue(LoraLinearTest.maxAbsDiff(withDefault, logits()) < 1e-6);
        assertThrows(IllegalArgumentException.class, () -> lora.setActiveAdapters("missing"));
    }

    @Test
    void unmatchedTargetsNameThePatternAndListTheModules() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> Lora.wrap(model, LoraConfig.builder().targetModules("q_proj").build()));
        assertTrue(error.getMessage().contains("q_proj"), error.getMessage());
        assertTrue(error.getMessage().contains("blocks.0.attention.query (Linear)"), error.getMessage());
    }

    @Test
    void targetingANonLayerIsAnErrorNamingIt() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> Lora.wrap(model, LoraConfig.builder().targetModules("attention").build()));
        assertTrue(error.getMessage().contains("blocks.0.attention"), error.getMessage());
        assertTrue(error.getMessage().contains("MultiHeadAttention"), error.getMessage());
    }

    @Test
    void regexTargetsExcludesAndPerModuleRankAndAlpha() {
        LoraModel<TinyTransformer> lora = Lora.wrap(model, LoraConfig.builder()
                .targetRegex("blocks\\.\\d+\\.attention\\.(query|key|value)")
                .excludeModules("key")
                .rankPattern("blocks.1.attention.value", 6)
                .alphaPattern("query", 32)
                .rank(2).alpha(4).build());
        Map<String, LoraLayer> layers = lora.layers();
        assertEquals(4, layers.size());
        assertEquals(6, layers.get("blocks.1.attention.value").adapter("default").spec().rank());
        assertEquals(2, layers.get("blocks.0.attention.value").adapter("default").spec().rank());
        assertEquals(32 / 2.0, layers.get("blocks.1.attention.query").adapter("default").scaling(), 1e-12);
        assertEquals(4 / 2.0, layers.get("blocks.0.attention.value").adapter("default").scaling(), 1e-12);
    }

    @Test
    void biasModesChooseWhichBiasesTrain() {
        Lora.wrap(model, qv().bias(BiasMode.LORA_ONLY).build());
        assertTrue(model.namedParameters().get("blocks.0.attention.query.bias").isTrainable());
        assertFalse(model.namedParameters().get("blocks.0.attention.key.bias").isTrainable());
        newModel();
        Lora.wrap(model, qv().bias(BiasMode.ALL).build());
        assertTrue(model.namedParameters().get("blocks.0.attention.key.bias").isTrainable());
        assertTrue(model.namedParameters().get("head.bias").isTrainable());
        assertFalse(model.namedParameters().get("head.weight").isTrainable());
    }

    @Test
    void modulesToSaveTrainInFullAndKeepOneCopyPerAdapter() {
        LoraModel<TinyTransformer> lora = Lora.wrap(model, qv().modulesToSave("head").build());
        Parameter headWeight = model.namedParameters().get("head.weight");
        INDArray original = headWeight.value().dup();
        assertTrue(headWeight.isTrainable());
        headWeight.value().addi(1.0); // stands for training the head under "default"
        INDArray trained = headWeight.value().dup();
        lora.disableAdapters();
        assertEquals(original, headWeight.value(), "adapters off: the original head is back");
        assertFalse(headWeight.isTrainable());
        lora.enableAdapters();
        assertEquals(trained, headWeight.value(), "adapters on: the trained head is back");
        lora.addAdapter("second", qv().modulesToSave("head").build());
        lora.setActiveAdapters("second");
        assertEquals(original, headWeight.value(), "a new adapter starts from the original head");
        lora.setActiveAdapters("default");
        assertEquals(trained, headWeight.value());
    }

    @Test
    void baseWeightsGetNoGradientBuffers() {
        Lora.wrap(model, qv().init(LoraInit.RANDOM).build());
        Tensor loss = model.forward(IDS).mean();
        loss.backward();
        model.namedParameters().forEach((name, p) -> {
            if (!p.isTrainable()) {
                assertNull(p.grad(), name + " is frozen and must have no gradient buffer");
            } else {
                assertTrue(p.grad() != null, name + " trains and must have a gradient");
            }
        });
    }

    @Test
    void invalidConfigsAreRejectedNamingTheField() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LoraConfig.builder().rank(0).targetModules("q").build())
                .getMessage().contains("rank"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LoraConfig.builder().alpha(-1).targetModules("q").build())
                .getMessage().contains("alpha"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LoraConfig.builder().dropout(1.0).targetModules("q").build())
                .getMessage().contains("dropout"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LoraConfig.builder().build())
                .getMessage().contains("target_modules"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LoraConfig.builder().targetRegex("(").build())
                .getMessage().contains("regular expression"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> LoraConfig.builder().targetModules("q").rankPattern("q", 0).build()).getMessage().contains("rank_pattern"));
    }
}
