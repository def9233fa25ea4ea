package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.testing.Float64;
import dev.lora4j.testing.GradientCheck;
import dev.lora4j.testing.NaiveConv;
import dev.lora4j.testing.TestArrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The convolution, pooling and batch-norm ops: forward values against {@link NaiveConv}'s direct
 * loops (max abs difference below 1e-12 in float64), and finite-difference gradient checks in
 * float64 (relative error below 1e-4, see {@link GradientCheck}) over combinations of stride,
 * padding, dilation and groups.
 */
@ExtendWith(Float64.class)
class ConvolutionTest {

    /** in channels, out channels, kernel h × w, stride, padding, dilation, groups, input h × w, bias. */
    static Stream<Arguments> convolutions() {
        return Stream.of(
                Arguments.of(3, 4, 3, 3, 1, 0, 1, 1, 6, 7, true),
                Arguments.of(3, 4, 3, 2, 2, 1, 1, 1, 7, 6, true),
                Arguments.of(2, 3, 3, 3, 1, 2, 2, 1, 6, 6, false),
                Arguments.of(4, 6, 3, 3, 2, 1, 1, 2, 7, 7, true),
                Arguments.of(4, 4, 3, 3, 1, 1, 2, 4, 6, 6, false),
                Arguments.of(4, 6, 2, 3, 3, 2, 2, 2, 8, 9, true),
                Arguments.of(3, 5, 1, 1, 1, 0, 1, 1, 4, 5, true),
                Arguments.of(4, 6, 1, 1, 2, 0, 1, 2, 5, 5, true),
                Arguments.of(2, 2, 5, 5, 1, 2, 1, 1, 5, 5, true));
    }

    private static ConvGeometry geometry(int stride, int padding, int dilation, int groups) {
        return ConvGeometry.of(stride, padding, dilation, groups);
    }

    @ParameterizedTest(name = "{0}->{1} k{2}x{3} s{4} p{5} d{6} g{7} in {8}x{9} bias {10}")
    @MethodSource("convolutions")
    void convolutionMatchesDirectLoopsAndFiniteDifferences(int in, int out, int kh, int kw, int stride, int padding,
            int dilation, int groups, int h, int w, boolean withBias) {
        ConvGeometry g = geometry(stride, padding, dilation, groups);
        long seed = 1000L * in + 100L * kh + 10L * stride + dilation + groups;
        Tensor x = Tensor.variable(TestArrays.normal(seed, 2, in, h, w));
        Tensor weight = Tensor.variable(TestArrays.normal(seed + 1, out, in / groups, kh, kw));
        Tensor bias = withBias ? Tensor.variable(TestArrays.normal(seed + 2, out)) : null;
        INDArray y = Functional.conv2d(x, weight, bias, g).value();
        INDArray expected = NaiveConv.conv2d(x.value(), weight.value(), withBias ? bias.value() : null, g);
        assertArrayEquals(expected.shape(), y.shape());
        assertTrue(maxAbsDiff(expected, y) < 1e-12, "forward max abs diff " + maxAbsDiff(expected, y));
        GradientCheck check = GradientCheck.of(() -> Functional.conv2d(x, weight, bias, g))
                .input("x", x).input("weight", weight);
        if (withBias) {
            check.input("bias", bias);
        }
        check.verify();
    }

    @ParameterizedTest(name = "{0}->{1} k{2}x{3} s{4} p{5} d{6} g{7} in {8}x{9}")
    @MethodSource("convolutions")
    void loraConvolutionIsAThenPointwiseB(int in, int out, int kh, int kw, int stride, int padding, int dilation,
            int groups, int h, int w, boolean ignored) {
        ConvGeometry g = geometry(stride, padding, dilation, groups);
        int r = 2 * groups;
        long seed = 2000L * in + 100L * kh + 10L * stride + dilation + groups;
        Tensor x = Tensor.variable(TestArrays.normal(seed, 2, in, h, w));
        Tensor a = Tensor.variable(TestArrays.normal(seed + 1, r, in, kh, kw));
        Tensor b = Tensor.variable(TestArrays.normal(seed + 2, out, r / groups, 1, 1));
        double scaling = 1.5;
        INDArray y = Functional.loraConv2d(x, a, b, scaling, g).value();
        INDArray afterA = NaiveConv.conv2d(x.value(), a.value(), null, g.withGroups(1));
        INDArray expected = NaiveConv.conv2d(afterA, b.value(), null, ConvGeometry.DEFAULT.withGroups(groups)).muli(scaling);
        assertTrue(maxAbsDiff(expected, y) < 1e-12, "forward max abs diff " + maxAbsDiff(expected, y));
        GradientCheck.of(() -> Functional.loraConv2d(x, a, b, scaling, g))
                .input("x", x).input("lora_A", a).input("lora_B", b).verify();
    }

    @Test
    void frozenWeightGetsNoGradientAndKeepsNoColumns() {
        Tensor x = Tensor.variable(TestArrays.normal(1, 2, 3, 5, 5));
        Tensor frozen = Tensor.constant(TestArrays.normal(2, 4, 3, 3, 3));
        GradientCheck.of(() -> Functional.conv2d(x, frozen, null, ConvGeometry.of(1, 1))).input("x", x).verify();
        assertNull(frozen.grad());
    }

    @Test
    void convolutionRejectsMismatchedShapes() {
        Tensor x = Tensor.constant(TestArrays.normal(1, 2, 3, 5, 5));
        assertThrows(IllegalArgumentException.class,
                () -> Functional.conv2d(x, Tensor.constant(TestArrays.normal(2, 4, 2, 3, 3)), null, ConvGeometry.DEFAULT));
        assertThrows(IllegalArgumentException.class,
                () -> Functional.conv2d(x, Tensor.constant(TestArrays.normal(2, 4, 3, 7, 7)), null, ConvGeometry.DEFAULT));
        assertThrows(IllegalArgumentException.class, () -> Functional.conv2d(Tensor.constant(TestArrays.normal(1, 3, 5, 5)),
                Tensor.constant(TestArrays.normal(2, 4, 3, 3, 3)), null, ConvGeometry.DEFAULT));
        assertThrows(IllegalArgumentException.class, () -> ConvGeometry.of(0, 1));
    }

    /** window h × w, stride, padding, dilation, input h × w. */
    static Stream<Arguments> pools() {
        return Stream.of(
                Arguments.of(2, 2, 2, 0, 1, 6, 8),
                Arguments.of(3, 3, 2, 1, 1, 7, 7),
                Arguments.of(3, 2, 1, 1, 1, 5, 6),
                Arguments.of(2, 2, 1, 0, 2, 6, 6),
                Arguments.of(3, 3, 3, 0, 1, 7, 8));
    }

    @ParameterizedTest(name = "max k{0}x{1} s{2} p{3} d{4} in {5}x{6}")
    @MethodSource("pools")
    void maxPooling(int kh, int kw, int stride, int padding, int dilation, int h, int w) {
        ConvGeometry g = geometry(stride, padding, dilation, 1);
        Tensor x = Tensor.variable(TestArrays.normal(31L * kh + stride + padding, 2, 3, h, w));
        INDArray expected = NaiveConv.maxPool2d(x.value(), kh, kw, g);
        INDArray y = Functional.maxPool2d(x, kh, kw, g).value();
        assertArrayEquals(expected.shape(), y.shape());
        assertTrue(maxAbsDiff(expected, y) < 1e-12, "forward max abs diff " + maxAbsDiff(expected, y));
        GradientCheck.of(() -> Functional.maxPool2d(x, kh, kw, g)).input("x", x).verify();
    }

    @ParameterizedTest(name = "avg k{0}x{1} s{2} p{3} d{4} in {5}x{6}")
    @MethodSource("pools")
    void averagePooling(int kh, int kw, int stride, int padding, int dilation, int h, int w) {
        ConvGeometry g = geometry(stride, padding, dilation, 1);
        Tensor x = Tensor.variable(TestArrays.normal(37L * kh + stride + padding, 2, 3, h, w));
        for (boolean includePad : new boolean[] {true, false}) {
            if (dilation != 1) {
                continue; // PyTorch's avg_pool2d has no dilation
            }
            INDArray expected = NaiveConv.avgPool2d(x.value(), kh, kw, g, includePad);
            INDArray y = Functional.avgPool2d(x, kh, kw, g, includePad).value();
            assertArrayEquals(expected.shape(), y.shape());
            assertTrue(maxAbsDiff(expected, y) < 1e-12, "includePad " + includePad + ": forward max abs diff "
                    + maxAbsDiff(expected, y));
            GradientCheck.of(() -> Functional.avgPool2d(x, kh, kw, g, includePad)).input("x", x).verify();
        }
    }

    @Test
    void batchNormWithBatchStatisticsNormalisesAndUpdatesRunningStatistics() {
        INDArray xv = TestArrays.normal(41, 4, 3, 5, 5).muli(3.0).addi(2.0);
        Tensor gamma = Tensor.variable(TestArrays.normal(42, 3));
        Tensor beta = Tensor.variable(TestArrays.normal(43, 3));
        INDArray runningMean = Nd4j.zeros(DataType.DOUBLE, 3);
        INDArray runningVar = Nd4j.ones(DataType.DOUBLE, 3);
        INDArray y = Functional.batchNorm2d(Tensor.constant(xv), gamma, beta, runningMean, runningVar, true, 0.1, 1e-5)
                .value();
        for (int c = 0; c < 3; c++) {
            double[] values = channel(xv, c);
            double mean = 0;
            for (double v : values) {
                mean += v;
            }
            mean /= values.length;
            double var = 0;
            for (double v : values) {
                var += (v - mean) * (v - mean);
            }
            double biased = var / values.length;
            double unbiased = var / (values.length - 1);
            double[] got = channel(y, c);
            for (int i = 0; i < values.length; i++) {
                double expected = (values[i] - mean) / Math.sqrt(biased + 1e-5) * gamma.value().getDouble(c)
                        + beta.value().getDouble(c);
                assertEquals(expected, got[i], 1e-12);
            }
            assertEquals(0.1 * mean, runningMean.getDouble(c), 1e-12, "running mean");
            assertEquals(0.9 + 0.1 * unbiased, runningVar.getDouble(c), 1e-12, "running variance (unbiased)");
        }
    }

    @Test
    void batchNormGradients() {
        Tensor x = Tensor.variable(TestArrays.normal(51, 3, 2, 4, 3).muli(2.0).addi(1.0));
        Tensor gamma = Tensor.variable(TestArrays.normal(52, 2));
        Tensor beta = Tensor.variable(TestArrays.normal(53, 2));
        GradientCheck.of(() -> Functional.batchNorm2d(x, gamma, beta, null, null, true, 0.1, 1e-5))
                .input("x", x).input("gamma", gamma).input("beta", beta).verify();
        INDArray runningMean = TestArrays.normal(54, 2);
        INDArray runningVar = TestArrays.uniform(55, 0.5, 2.0, 2);
        INDArray meanBefore = runningMean.dup();
        GradientCheck.of(() -> Functional.batchNorm2d(x, gamma, beta, runningMean, runningVar, false, 0.1, 1e-5))
                .input("x", x).input("gamma", gamma).input("beta", beta).verify();
        assertEquals(meanBefore, runningMean, "running statistics are only read");
    }

    private static double[] channel(INDArray x, int c) {
        INDArray slice = x.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.point(c),
                org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.all()).dup('c');
        return slice.data().asDouble();
    }

    static double maxAbsDiff(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }
}
