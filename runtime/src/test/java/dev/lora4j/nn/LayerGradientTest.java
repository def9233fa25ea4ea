package dev.lora4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.testing.Float64;
import dev.lora4j.testing.GradientCheck;
import dev.lora4j.testing.TestArrays;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Gradient checks of every layer with respect to its input and all its parameters, in float64
 * (relative error below 1e-4, see {@link GradientCheck}), plus forward properties of the layers.
 */
@ExtendWith(Float64.class)
class LayerGradientTest {

    @BeforeEach
    void seed() {
        Init.seed(7);
    }

    /** Replaces every parameter's values with seeded normal ones (e.g. LayerNorm's ones/zeros). */
    private static void randomize(Module module, long seed) {
        long s = seed;
        for (Parameter p : module.parameters()) {
            p.value().assign(TestArrays.normal(s++, p.shape()).muli(0.5));
        }
    }

    private static GradientCheck checkModule(UnaryModule module, Tensor x) {
        return GradientCheck.of(() -> module.forward(x)).input("x", x).inputs(((Module) module).namedParameters());
    }

    /**
     * Checks attention's input and parameters. The key projection's bias adds q·b_k to every score
     * of a query's softmax row, which the softmax ignores: its gradient is exactly zero and is
     * checked as such (|analytic| ≤ 1e-12, |numeric| ≤ 1e-8); everything else to relative error 1e-4.
     */
    private static GradientCheck checkAttention(MultiHeadAttention layer, Tensor x, INDArray mask) {
        Map<String, Parameter> parameters = new LinkedHashMap<>(layer.namedParameters());
        Parameter keyBias = parameters.remove("key.bias");
        assertSame(layer.key.bias(), keyBias);
        return GradientCheck.of(() -> layer.forward(x, mask)).input("x", x).inputs(parameters)
                .zeroGradientInput("key.bias", keyBias);
    }

    @Test
    void layersCreateFloat64Weights() {
        assertEquals(DataType.DOUBLE, new Linear(3, 2).weight().dataType());
        assertEquals(DataType.DOUBLE, new LayerNorm(3).weight().dataType());
        assertEquals(DataType.DOUBLE, new Embedding(3, 2).weight().dataType());
    }

    @Test
    void linear() {
        Linear layer = new Linear(4, 5, true, new Random(1));
        Tensor x = Tensor.variable(TestArrays.normal(301, 2, 3, 4));
        checkModule(layer, x).verify();
        assertArrayEquals(new long[] {2, 3, 5}, layer.forward(x).shape());
    }

    @Test
    void linearWithoutBias() {
        Linear layer = new Linear(4, 5, false, new Random(2));
        assertNull(layer.bias());
        checkModule(layer, Tensor.variable(TestArrays.normal(302, 3, 4))).verify();
    }

    @Test
    void linearFanInFanOut() {
        Linear layer = new Linear(new Parameter(TestArrays.normal(303, 4, 5)), new Parameter(TestArrays.normal(304, 5)),
                true);
        assertEquals(4, layer.inFeatures());
        assertEquals(5, layer.outFeatures());
        checkModule(layer, Tensor.variable(TestArrays.normal(305, 2, 3, 4))).verify();
        // the same map as the [out, in] layout with the transposed weight
        Linear plain = Linear.of(layer.weight().value().transpose(), layer.bias().value());
        Tensor x = Tensor.constant(TestArrays.normal(306, 3, 4));
        assertTrue(plain.forward(x).value().equalsWithEps(layer.forward(x).value(), 1e-12));
    }

    @Test
    void frozenLinearPassesGradientToItsInputOnly() {
        Linear layer = new Linear(4, 5, true, new Random(3));
        layer.freeze();
        Tensor x = Tensor.variable(TestArrays.normal(307, 2, 4));
        GradientCheck.of(() -> layer.forward(x)).input("x", x).verify();
        assertNull(layer.weight().grad());
        assertNull(layer.bias().grad());
        assertEquals(0, layer.trainableParameterCount());
    }

    @Test
    void embedding() {
        Embedding layer = new Embedding(7, 3, new Random(4));
        INDArray ids = Nd4j.createFromArray(new int[][] {{0, 3, 3, 6}, {2, 3, 0, 1}});
        GradientCheck.of(() -> layer.forward(ids)).inputs(layer.namedParameters()).verify();
        assertArrayEquals(new long[] {2, 4, 3}, layer.forward(ids).shape());
        // rows never looked up get exactly zero gradient
        for (int d = 0; d < 3; d++) {
            assertEquals(0.0, layer.weight().grad().getDouble(4, d), 0);
            assertEquals(0.0, layer.weight().grad().getDouble(5, d), 0);
        }
    }

    @Test
    void layerNorm() {
        LayerNorm layer = new LayerNorm(5);
        randomize(layer, 310);
        checkModule(layer, Tensor.variable(TestArrays.normal(311, 2, 3, 5).muli(3.0))).verify();
    }

    @Test
    void layerNormAtInitialisationNormalises() {
        LayerNorm layer = new LayerNorm(6, 1e-12);
        INDArray y = layer.forward(Tensor.constant(TestArrays.normal(312, 4, 6).muli(5.0).addi(3.0))).value();
        for (int r = 0; r < 4; r++) {
            INDArray row = y.getRow(r);
            assertEquals(0.0, row.meanNumber().doubleValue(), 1e-12);
            assertEquals(1.0, row.mul(row).meanNumber().doubleValue(), 1e-9);
        }
        checkModule(layer, Tensor.variable(TestArrays.normal(313, 2, 6))).verify();
    }

    @Test
    void multiHeadAttentionCausal() {
        MultiHeadAttention layer = new MultiHeadAttention(6, 2, true);
        checkAttention(layer, Tensor.variable(TestArrays.normal(321, 2, 4, 6)), null).verify();
    }

    @Test
    void multiHeadAttentionNotCausal() {
        MultiHeadAttention layer = new MultiHeadAttention(6, 3, false);
        checkAttention(layer, Tensor.variable(TestArrays.normal(322, 2, 3, 6)), null).verify();
    }

    @Test
    void multiHeadAttentionWithPaddingMask() {
        MultiHeadAttention layer = new MultiHeadAttention(6, 2, false);
        INDArray mask = Nd4j.createFromArray(new int[][] {{1, 1, 1, 1}, {1, 1, 1, 0}});
        Tensor x = Tensor.variable(TestArrays.normal(323, 2, 4, 6));
        checkAttention(layer, x, mask).verify();
        MultiHeadAttention causal = new MultiHeadAttention(6, 2, true);
        checkAttention(causal, x, mask).verify();
    }

    @Test
    void multiHeadAttentionIgnoresPaddedAndFuturePositions() {
        MultiHeadAttention layer = new MultiHeadAttention(6, 2, true);
        INDArray mask = Nd4j.createFromArray(new int[][] {{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}});
        INDArray x = TestArrays.normal(324, 2, 5, 6);
        INDArray before = layer.forward(Tensor.constant(x), mask).value();
        // batch 1: change the padded positions 3, 4; batch 0: change position 4 (the future of 0..3)
        INDArray changed = x.dup();
        for (int d = 0; d < 6; d++) {
            changed.putScalar(new long[] {1, 3, d}, 9.0);
            changed.putScalar(new long[] {1, 4, d}, -9.0);
            changed.putScalar(new long[] {0, 4, d}, 5.0);
        }
        INDArray after = layer.forward(Tensor.constant(changed), mask).value();
        for (int d = 0; d < 6; d++) {
            for (int t = 0; t < 3; t++) {
                assertEquals(before.getDouble(1, t, d), after.getDouble(1, t, d), 1e-12, "batch 1, real position " + t);
            }
            for (int t = 0; t < 4; t++) {
                assertEquals(before.getDouble(0, t, d), after.getDouble(0, t, d), 1e-12, "batch 0, position " + t);
            }
        }
    }

    @Test
    void sequential() {
        Sequential net = new Sequential(new Linear(4, 6, true, new Random(5)), Activation.gelu(),
                new Linear(6, 5, true, new Random(6)), Activation.tanh(), new Linear(5, 3, false, new Random(7)));
        Tensor x = Tensor.variable(TestArrays.normal(331, 2, 3, 4));
        GradientCheck.Result result = checkModule(net, x).verify();
        assertEquals(2 * 3 * 4 + 6 * 4 + 6 + 5 * 6 + 5 + 3 * 5, result.elements());
        assertTrue(net.namedParameters().containsKey("layers.0.weight"));
        assertTrue(net.namedParameters().containsKey("layers.4.weight"));
    }

    @Test
    void reluActivationModule() {
        Activation relu = Activation.relu();
        Tensor x = Tensor.variable(TestArrays.awayFromZero(332, 0.1, 2.0, 3, 4));
        GradientCheck.of(() -> relu.forward(x)).input("x", x).verify();
    }

    @Test
    void dropoutModule() {
        Dropout dropout = new Dropout(0.5, new Random(9));
        Tensor x = Tensor.variable(TestArrays.awayFromZero(333, 0.1, 1.0, 4, 4));
        dropout.eval();
        assertSame(x, dropout.forward(x), "inactive in evaluation mode");
        dropout.train();
        Tensor y = dropout.forward(x);
        y.backward(Nd4j.onesLike(y.value()));
        INDArray ratio = y.value().div(x.value());
        assertEquals(ratio, x.grad(), "gradient equals the mask y / x");
        for (long i = 0; i < ratio.length(); i++) {
            double m = ratio.getDouble(i);
            assertTrue(m == 0.0 || m == 2.0, "mask element " + m);
        }
    }

    @Test
    void crossEntropyLossModule() {
        Tensor logits = Tensor.variable(TestArrays.normal(334, 4, 3));
        int[] targets = {2, CrossEntropyLoss.DEFAULT_IGNORE_INDEX, 0, 1};
        CrossEntropyLoss loss = new CrossEntropyLoss();
        GradientCheck.of(() -> loss.compute(logits, targets)).input("logits", logits).verify();
        assertEquals(Functional.crossEntropy(logits, targets, -100).item(), loss.compute(logits, targets).item(), 0);
    }

    // ---- a user's own model ------------------------------------------------------------------

    /** {@code x + down(gelu(up(LayerNorm(x))))}, written by hand as a user would. */
    static final class ResidualBlock extends Module implements UnaryModule {
        final LayerNorm norm;
        final Linear up;
        final Linear down;

        ResidualBlock(int dim, int hidden, Random random) {
            norm = new LayerNorm(dim);
            up = new Linear(dim, hidden, true, random);
            down = new Linear(hidden, dim, true, random);
        }

        Tensor branch(Tensor x) {
            return down.forward(up.forward(norm.forward(x)).gelu());
        }

        @Override
        public Tensor forward(Tensor x) {
            return x.add(branch(x));
        }
    }

    @Test
    void residualNetworkGradient() {
        ResidualBlock block = new ResidualBlock(4, 6, new Random(11));
        randomize(block.norm, 340);
        Tensor x = Tensor.variable(TestArrays.normal(341, 2, 3, 4));
        checkModule(block, x).verify();
        assertEquals(
                List.of("norm.weight", "norm.bias", "up.weight", "up.bias", "down.weight", "down.bias"),
                List.copyOf(block.namedParameters().keySet()));
    }

    @Test
    void residualGradientFlowsThroughBothBranches() {
        ResidualBlock block = new ResidualBlock(4, 6, new Random(12));
        Tensor x = Tensor.variable(TestArrays.normal(342, 2, 3, 4));
        INDArray seed = TestArrays.normal(343, 2, 3, 4);
        block.forward(x).backward(seed);
        INDArray throughBoth = x.grad().dup();
        block.parameters().forEach(p -> assertTrue(p.grad().amaxNumber().doubleValue() > 0, "every parameter gets a gradient"));
        // the branch alone
        x.clearGrad();
        block.branch(x).backward(seed);
        INDArray throughBranch = x.grad().dup();
        assertTrue(throughBranch.amaxNumber().doubleValue() > 1e-3, "the branch contributes");
        // the skip connection contributes the seed itself
        assertTrue(seed.add(throughBranch).equalsWithEps(throughBoth, 1e-12));
    }

    @Test
    void residualNetworkTrains() {
        ResidualBlock block = new ResidualBlock(4, 8, new Random(13));
        Linear head = new Linear(4, 2, true, new Random(14));
        Tensor x = Tensor.constant(TestArrays.normal(344, 16, 4));
        Tensor target = Tensor.constant(TestArrays.normal(345, 16, 2).muli(0.5));
        List<Parameter> parameters = new ArrayList<>(block.parameters());
        parameters.addAll(head.parameters());
        double first = 0;
        double last = 0;
        for (int step = 0; step < 60; step++) {
            Tensor loss = Functional.mse(head.forward(block.forward(x)), target);
            if (step == 0) {
                first = loss.item();
            }
            last = loss.item();
            parameters.forEach(Parameter::zeroGrad);
            loss.backward();
            for (Parameter p : parameters) {
                p.value().subi(p.grad().mul(0.1));
            }
        }
        assertTrue(last < 0.6 * first, "loss " + first + " -> " + last);
    }
}
