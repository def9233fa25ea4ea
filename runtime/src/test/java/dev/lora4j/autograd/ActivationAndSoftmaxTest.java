package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.testing.GradientCheck;
import dev.lora4j.testing.TestArrays;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * relu, gelu, tanh, exp, softmax, logSoftmax: gradient checks in float64 (relative error below
 * 1e-4) and forward values against formulas computed here in plain Java.
 */
class ActivationAndSoftmaxTest {

    @Test
    void reluGradientAwayFromTheKink() {
        // |x| in [0.1, 2): the ±1e-6 steps never cross 0
        Tensor x = Tensor.variable(TestArrays.awayFromZero(21, 0.1, 2.0, 3, 4));
        GradientCheck.of(x::relu).input("x", x).verify();
        x.clearGrad();
        x.relu().sum().backward();
        for (long i = 0; i < x.value().length(); i++) {
            double v = x.value().getDouble(i);
            assertEquals(v > 0 ? 1.0 : 0.0, x.grad().getDouble(i), 0, "relu passes the gradient only where x > 0");
        }
    }

    @Test
    void reluForward() {
        Tensor x = Tensor.constant(TestArrays.normal(22, 10));
        INDArray y = x.relu().value();
        for (long i = 0; i < 10; i++) {
            assertEquals(Math.max(0.0, x.value().getDouble(i)), y.getDouble(i), 0);
        }
    }

    @Test
    void geluGradient() {
        Tensor x = Tensor.variable(TestArrays.normal(23, 3, 4).muli(2.0));
        GradientCheck.of(x::gelu).input("x", x).verify();
    }

    @Test
    void geluForwardMatchesErfFormula() {
        double[] xs = {-4.0, -3.0, -1.5, -0.5, -1e-3, 0.0, 0.3, 1.0, 2.5, 3.7};
        INDArray y = Tensor.constant(TestArrays.of(xs, xs.length)).gelu().value();
        for (int i = 0; i < xs.length; i++) {
            double expected = 0.5 * xs[i] * (1.0 + erf(xs[i] / Math.sqrt(2.0)));
            assertEquals(expected, y.getDouble(i), 1e-6, "gelu(" + xs[i] + ")");
        }
    }

    @Test
    void ownErfMatchesKnownValues() {
        // reference values of erf to 15 digits (Abramowitz & Stegun table 7.1 / standard tables)
        assertEquals(0.0, erf(0.0), 0);
        assertEquals(0.520499877813047, erf(0.5), 1e-14);
        assertEquals(0.842700792949715, erf(1.0), 1e-14);
        assertEquals(0.995322265018953, erf(2.0), 1e-14);
        assertEquals(-0.999977909503001, erf(-3.0), 1e-14);
    }

    @Test
    void tanhGradientAndForward() {
        Tensor x = Tensor.variable(TestArrays.normal(24, 3, 4));
        GradientCheck.of(x::tanh).input("x", x).verify();
        INDArray y = x.tanh().value();
        for (long i = 0; i < 12; i++) {
            assertEquals(Math.tanh(x.value().getDouble(i)), y.getDouble(i), 1e-12);
        }
    }

    @Test
    void expGradientAndForward() {
        Tensor x = Tensor.variable(TestArrays.normal(25, 3, 4));
        GradientCheck.of(x::exp).input("x", x).verify();
        INDArray y = x.exp().value();
        for (long i = 0; i < 12; i++) {
            assertEquals(Math.exp(x.value().getDouble(i)), y.getDouble(i), 1e-12 * y.getDouble(i));
        }
    }

    @Test
    void softmaxGradient() {
        Tensor x = Tensor.variable(TestArrays.normal(26, 2, 3, 5));
        GradientCheck.of(x::softmax).input("x", x).verify();
    }

    @Test
    void logSoftmaxGradient() {
        Tensor x = Tensor.variable(TestArrays.normal(27, 2, 3, 5));
        GradientCheck.of(x::logSoftmax).input("x", x).verify();
    }

    @Test
    void softmaxRowsSumToOneAndMatchDirectFormula() {
        INDArray values = TestArrays.normal(28, 2, 3, 5).muli(3.0);
        INDArray y = Tensor.constant(values).softmax().value();
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 3; t++) {
                double z = 0;
                for (int c = 0; c < 5; c++) {
                    z += Math.exp(values.getDouble(b, t, c));
                }
                double rowSum = 0;
                for (int c = 0; c < 5; c++) {
                    double p = y.getDouble(b, t, c);
                    rowSum += p;
                    assertEquals(Math.exp(values.getDouble(b, t, c)) / z, p, 1e-12);
                }
                assertEquals(1.0, rowSum, 1e-12);
            }
        }
    }

    @Test
    void softmaxIsStableForLargeInputs() {
        INDArray values = TestArrays.normal(29, 3, 4);
        INDArray shifted = values.add(1000.0);
        INDArray expected = Tensor.constant(values).softmax().value();
        INDArray actual = Tensor.constant(shifted).softmax().value();
        assertTrue(expected.equalsWithEps(actual, 1e-9), "softmax(x + 1000) = softmax(x)");
        INDArray logActual = Tensor.constant(shifted).logSoftmax().value();
        assertTrue(logActual.equalsWithEps(Tensor.constant(values).logSoftmax().value(), 1e-9));
        for (long i = 0; i < logActual.length(); i++) {
            assertTrue(Double.isFinite(logActual.getDouble(i)));
        }
    }

    @Test
    void logSoftmaxMatchesDirectFormula() {
        INDArray values = TestArrays.normal(30, 4, 6);
        INDArray y = Tensor.constant(values).logSoftmax().value();
        for (int r = 0; r < 4; r++) {
            double z = 0;
            for (int c = 0; c < 6; c++) {
                z += Math.exp(values.getDouble(r, c));
            }
            for (int c = 0; c < 6; c++) {
                assertEquals(values.getDouble(r, c) - Math.log(z), y.getDouble(r, c), 1e-12);
            }
        }
    }

    /**
     * erf by the series {@code erf(x) = 2/√π · e^{−x²} · Σ_{n≥0} 2ⁿ x^{2n+1} / (1·3·…·(2n+1))}, whose
     * terms are all of one sign (no cancellation); summed until the terms stop changing the sum.
     */
    static double erf(double x) {
        double term = x;
        double sum = x;
        for (int n = 1; n < 500; n++) {
            term *= 2.0 * x * x / (2 * n + 1);
            double next = sum + term;
            if (next == sum) {
                break;
            }
            sum = next;
        }
        return 2.0 / Math.sqrt(Math.PI) * Math.exp(-x * x) * sum;
    }
}
