package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lora4j.testing.GradientCheck;
import dev.lora4j.testing.TestArrays;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * reshape, permute, transpose, narrow, sum and mean: gradient checks in float64 (relative error
 * below 1e-4) and forward values by index arithmetic (exact, or 1e-12 for sums).
 */
class ShapeAndReductionTest {

    private final INDArray data = TestArrays.normal(51, 2, 3, 4);

    @Test
    void reshapeGradient() {
        Tensor x = Tensor.variable(data.dup());
        GradientCheck.of(() -> x.reshape(6, 4)).input("x", x).verify();
        GradientCheck.of(() -> x.reshape(4, -1)).input("x", x).verify();
        // the reshape's output feeds a non-linear op so that element order matters
        GradientCheck.of(() -> x.reshape(3, 8).softmax()).input("x", x).verify();
    }

    @Test
    void reshapeForwardKeepsCOrder() {
        Tensor y = Tensor.constant(data).reshape(4, -1);
        assertArrayEquals(new long[] {4, 6}, y.shape());
        for (int i = 0; i < 24; i++) {
            assertEquals(data.getDouble(i / 12, (i / 4) % 3, i % 4), y.value().getDouble(i / 6, i % 6), 0);
        }
    }

    @Test
    void permuteGradientAndForward() {
        Tensor x = Tensor.variable(data.dup());
        GradientCheck.of(() -> x.permute(2, 0, 1).softmax()).input("x", x).verify();
        Tensor y = x.permute(2, 0, 1);
        assertArrayEquals(new long[] {4, 2, 3}, y.shape());
        for (int a = 0; a < 2; a++) {
            for (int b = 0; b < 3; b++) {
                for (int c = 0; c < 4; c++) {
                    assertEquals(data.getDouble(a, b, c), y.value().getDouble(c, a, b), 0);
                }
            }
        }
    }

    @Test
    void permuteThenReshape() {
        // the multi-head split/merge pattern
        Tensor x = Tensor.variable(TestArrays.normal(52, 2, 3, 6));
        GradientCheck.of(() -> x.reshape(2, 3, 2, 3).permute(0, 2, 1, 3).softmax()
                        .permute(0, 2, 1, 3).reshape(2, 3, 6))
                .input("x", x).verify();
    }

    @Test
    void transposeGradientAndForward() {
        Tensor x = Tensor.variable(data.dup());
        GradientCheck.of(() -> x.transpose().softmax()).input("x", x).verify();
        Tensor y = x.transpose();
        assertArrayEquals(new long[] {2, 4, 3}, y.shape());
        assertEquals(data.getDouble(1, 2, 3), y.value().getDouble(1, 3, 2), 0);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Tensor.constant(TestArrays.normal(53, 5)).transpose());
        assertEquals("transpose needs rank >= 2, the shape is [5]", e.getMessage());
    }

    @Test
    void narrowGradientAndForward() {
        Tensor x = Tensor.variable(data.dup());
        GradientCheck.of(() -> x.narrow(1, 1, 2)).input("x", x).verify();
        GradientCheck.of(() -> x.narrow(-1, 2, 2).softmax()).input("x", x).verify();
        GradientCheck.of(() -> x.narrow(0, 1, 1)).input("x", x).verify();
        // slices outside the window get exactly zero gradient
        x.clearGrad();
        x.narrow(1, 1, 2).sum().backward();
        for (int a = 0; a < 2; a++) {
            for (int b = 0; b < 3; b++) {
                for (int c = 0; c < 4; c++) {
                    assertEquals(b >= 1 ? 1.0 : 0.0, x.grad().getDouble(a, b, c), 0);
                }
            }
        }
        Tensor y = x.narrow(-1, 2, 2);
        assertArrayEquals(new long[] {2, 3, 2}, y.shape());
        assertEquals(data.getDouble(1, 2, 3), y.value().getDouble(1, 2, 1), 0);
    }

    @Test
    void narrowOutOfRange() {
        Tensor x = Tensor.variable(data.dup());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> x.narrow(1, 2, 2));
        assertEquals("narrow [2, 4) is outside dimension 1 of size 3", e.getMessage());
    }

    @Test
    void sumAndMeanOfAllGradient() {
        Tensor x = Tensor.variable(data.dup());
        GradientCheck.of(x::sum).input("x", x).verify();
        GradientCheck.of(x::mean).input("x", x).verify();
        assertEquals(data.sumNumber().doubleValue(), x.sum().item(), 1e-12);
        assertEquals(data.sumNumber().doubleValue() / 24, x.mean().item(), 1e-12);
        assertArrayEquals(new long[0], x.sum().shape());
    }

    @Test
    void sumAndMeanAlongADimensionGradient() {
        Tensor x = Tensor.variable(data.dup());
        for (int dim : new int[] {0, 1, 2, -1}) {
            int d = dim;
            GradientCheck.of(() -> x.sum(d)).input("x", x).verify();
            GradientCheck.of(() -> x.mean(d)).input("x", x).verify();
        }
        Tensor v = Tensor.variable(TestArrays.normal(54, 5));
        GradientCheck.of(() -> v.mean(0)).input("v", v).verify();
    }

    @Test
    void sumAndMeanAlongADimensionForward() {
        Tensor x = Tensor.constant(data);
        INDArray s1 = x.sum(1).value();
        INDArray m2 = x.mean(-1).value();
        assertArrayEquals(new long[] {2, 4}, s1.shape());
        assertArrayEquals(new long[] {2, 3}, m2.shape());
        for (int a = 0; a < 2; a++) {
            for (int c = 0; c < 4; c++) {
                double s = 0;
                for (int b = 0; b < 3; b++) {
                    s += data.getDouble(a, b, c);
                }
                assertEquals(s, s1.getDouble(a, c), 1e-12);
            }
            for (int b = 0; b < 3; b++) {
                double s = 0;
                for (int c = 0; c < 4; c++) {
                    s += data.getDouble(a, b, c);
                }
                assertEquals(s / 4, m2.getDouble(a, b), 1e-12);
            }
        }
    }
}
