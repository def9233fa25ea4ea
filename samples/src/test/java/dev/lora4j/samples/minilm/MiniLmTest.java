package dev.lora4j.samples.minilm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.nn.Parameter;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class MiniLmTest {

    private static final MiniLm.Config TINY = new MiniLm.Config(50, 8, 2, 2, 16, 12, 2, 1e-12, 0.1);

    @Test
    void meanPoolAveragesOnlyTheKeptTokens() {
        Tensor hidden = Tensor.constant(Nd4j.createFromArray(new float[][][] {
                {{1, 2}, {3, 4}, {100, 100}},
                {{1, 1}, {2, 2}, {3, 3}}}));
        INDArray mask = Nd4j.createFromArray(new long[][] {{1, 1, 0}, {1, 1, 1}});
        INDArray pooled = MiniLm.meanPool(hidden, mask).value();
        assertArrayEquals(new float[] {2, 3, 2, 2}, pooled.dup('c').data().asFloat(), 1e-6f);
    }

    @SuppressWarnings("try") // the scope is only opened and closed
    @Test
    void paddingDoesNotChangeTheHiddenStatesOfRealTokens() {
        MiniLm model = Pretrained.model();
        INDArray alone = Nd4j.createFromArray(new long[][] {{101, 7592, 2088, 102}});
        INDArray padded = Nd4j.createFromArray(new long[][] {{101, 7592, 2088, 102, 0, 0, 0}});
        INDArray mask = Nd4j.createFromArray(new long[][] {{1, 1, 1, 1, 0, 0, 0}});
        try (GradMode.Scope ignored = GradMode.disable()) {
            INDArray a = model.forward(alone, null).value();
            INDArray b = model.forward(padded, mask).value()
                    .get(NDArrayIndex.all(), NDArrayIndex.interval(0, 4), NDArrayIndex.all());
            assertTrue(Nd4j.math().abs(a.sub(b)).maxNumber().doubleValue() < 1e-5);
        }
    }

    @Test
    void gradientsReachTheAdaptersThroughEveryLayerAndNothingElse() {
        MiniLm model = MiniLm.random(TINY, 7);
        Lora.wrap(model, LoraConfig.builder().rank(2).targetModules("query", "value").build());
        model.train();
        INDArray ids = Nd4j.createFromArray(new long[][] {{1, 5, 9, 2, 0}, {1, 7, 3, 4, 2}});
        INDArray mask = Nd4j.createFromArray(new long[][] {{1, 1, 1, 1, 0}, {1, 1, 1, 1, 1}});

        MiniLm.meanPool(model.forward(ids, mask), mask).mul(MiniLm.meanPool(model.forward(ids, mask), mask)).sum().backward();

        int adapters = 0;
        for (var e : model.namedParameters().entrySet()) {
            Parameter p = e.getValue();
            if (e.getKey().contains("lora_B")) {
                assertNotNull(p.grad(), e.getKey());
                assertTrue(p.grad().norm2Number().doubleValue() > 0, e.getKey() + " gets a non-zero gradient");
                adapters++;
            } else if (!e.getKey().contains("lora_A")) {
                assertNull(p.grad(), e.getKey() + " is frozen");
            }
        }
        assertEquals(2 * TINY.layers(), adapters);
    }

    @Test
    void sentenceEmbeddingsOfThePackedRealTokensAreTheMeanPooledHiddenStatesValuesAndGradients() {
        INDArray ids = Nd4j.createFromArray(new long[][] {{1, 5, 9, 2, 0, 0}, {1, 7, 3, 4, 2, 6}, {1, 8, 0, 0, 0, 0}});
        INDArray mask = Nd4j.createFromArray(new long[][] {{1, 1, 1, 1, 0, 0}, {1, 1, 1, 1, 1, 1}, {1, 1, 0, 0, 0, 0}});
        INDArray upstream = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 3, TINY.hidden());
        INDArray[] padded = embeddingAndAdapterGradients(ids, mask, upstream, false);
        INDArray[] packed = embeddingAndAdapterGradients(ids, mask, upstream, true);
        // float32, the same arithmetic on fewer rows: equal up to float rounding, 1e-4 of the largest
        // entry (the gradients are ~1e-5 in size: an absolute bound would pass anything)
        int reached = 0;
        for (int i = 0; i < padded.length; i++) {
            double scale = padded[i].amaxNumber().doubleValue();
            double error = padded[i].sub(packed[i]).amaxNumber().doubleValue();
            assertTrue(error <= 1e-4 * scale, (i == 0 ? "embeddings" : "adapter gradient " + i) + ": " + padded[i]
                    + " vs " + packed[i]);
            reached += i > 0 && scale > 0 ? 1 : 0;
        }
        assertEquals(2 * TINY.layers(), reached, "every lora_B gets a non-zero gradient (lora_A's are 0 while B is)");
    }

    @Test
    void aBatchWithoutPaddingIsNotPacked() {
        INDArray ids = Nd4j.createFromArray(new long[][] {{1, 5, 9, 2}, {1, 7, 3, 4}});
        INDArray mask = Nd4j.ones(org.nd4j.linalg.api.buffer.DataType.INT64, 2, 4);
        MiniLm model = MiniLm.random(TINY, 5);
        model.eval();
        // the same layers over the same layout: the same floats
        assertArrayEquals(MiniLm.meanPool(model.forward(ids, mask), mask).value().dup('c').data().asFloat(),
                model.sentenceEmbeddings(ids, mask).value().dup('c').data().asFloat());
    }

    /** The sentence embeddings and every adapter's B gradient, computed over every position or packed. */
    private static INDArray[] embeddingAndAdapterGradients(INDArray ids, INDArray mask, INDArray upstream,
            boolean packed) {
        MiniLm model = MiniLm.random(TINY, 11);
        Lora.wrap(model, LoraConfig.builder().rank(2).targetModules("query", "value").seed(3).build());
        model.eval(); // no dropout: the two ways draw their masks differently outside a data-parallel step
        Tensor embeddings = packed ? model.sentenceEmbeddings(ids, mask)
                : MiniLm.meanPool(model.forward(ids, mask), mask);
        embeddings.backward(upstream);
        java.util.List<INDArray> out = new java.util.ArrayList<>();
        out.add(embeddings.value().dup());
        model.namedParameters().forEach((name, p) -> {
            if (name.contains("lora_")) {
                out.add(p.grad().dup());
            }
        });
        return out.toArray(INDArray[]::new);
    }

    @Test
    void pretrainedModelStartsInEvaluationModeAndRandomOnesInTraining() {
        assertTrue(!Pretrained.model().isTraining(), "dropout off, as from_pretrained leaves a model");
        assertTrue(MiniLm.random(TINY, 1).isTraining());
    }
}
