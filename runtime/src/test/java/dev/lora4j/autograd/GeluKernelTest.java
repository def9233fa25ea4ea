package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lora4j.autograd.internal.GeluKernel;
import dev.lora4j.testing.TestArrays;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The float32 GELU kernel, in three links: its float64 twin ({@link GeluKernel#value},
 * {@link GeluKernel#derivative}) against GELU with an erf summed here by its series (the
 * approximation's error), the twin's derivative against central differences of its value (forward
 * and backward agree), and the float32 loops against the twin (float rounding only).
 */
class GeluKernelTest {

    /** The rational erf's error in GELU's value: 3.0e-7 at its worst (x = −12, where Φ should be 0). */
    private static final double VALUE_TOLERANCE = 4e-7;
    /** …and in its derivative: 6.6e-6 at its worst (x ≈ 5.66, the edge of the rational part). */
    private static final double DERIVATIVE_TOLERANCE = 8e-6;

    @Test
    void theFloat64TwinIsGeluWithinTheApproximationsError() {
        for (double x = -12; x <= 12; x += 0.01) {
            double cdf = 0.5 * (1 + ActivationAndSoftmaxTest.erf(x / Math.sqrt(2)));
            double pdf = Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
            assertEquals(x * cdf, GeluKernel.value(x), VALUE_TOLERANCE, "gelu(" + x + ")");
            assertEquals(cdf + x * pdf, GeluKernel.derivative(x), DERIVATIVE_TOLERANCE, "gelu'(" + x + ")");
        }
    }

    @Test
    void theDerivativeIsThatOfTheValueByCentralDifferencesInFloat64() {
        double h = 1e-6;
        for (double x = -9; x <= 9; x += 0.0137) { // the grid crosses ±4√2, where erf becomes ±1
            double numeric = (GeluKernel.value(x + h) - GeluKernel.value(x - h)) / (2 * h);
            assertEquals(numeric, GeluKernel.derivative(x), 1e-8, "at " + x);
        }
    }

    @Test
    void theFloat32LoopsAgreeWithTheFloat64Twin() {
        // 2 500 elements: two whole chunks and a part of one; a view, so the kernel copies it first
        INDArray wide = TestArrays.normal(5, 50, 100).muli(4.0).castTo(DataType.FLOAT);
        INDArray x = wide.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 50)).reshape(2500);
        INDArray g = TestArrays.normal(6, 2500).castTo(DataType.FLOAT);
        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, 2500);
        INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, 2500);
        GeluKernel.forward(x, y);
        GeluKernel.backward(x, g, dx);
        for (int i = 0; i < 2500; i++) {
            double xi = x.getFloat(i);
            double gi = g.getFloat(i);
            // float32 rounding of values up to ~16 and of a dozen operations
            assertEquals(GeluKernel.value(xi), y.getFloat(i), 2e-6 * Math.max(1, Math.abs(xi)), "y at " + xi);
            assertEquals(gi * GeluKernel.derivative(xi), dx.getFloat(i), 2e-6 * Math.max(1, Math.abs(gi * xi)),
                    "dx at " + xi);
        }
    }

    @Test
    void aFloat32TensorsGeluAndItsGradientMatchTheFloat64Path() {
        INDArray values = TestArrays.normal(7, 4, 300).muli(3.0);
        INDArray seed = TestArrays.normal(8, 4, 300);
        Tensor x64 = Tensor.variable(values);
        Tensor y64 = x64.gelu();
        y64.backward(seed);
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.HALF}) {
            Tensor x = Tensor.variable(values.castTo(type));
            Tensor y = x.gelu();
            y.backward(seed.castTo(type));
            double tolerance = type == DataType.FLOAT ? 1e-5 : 3e-2; // the approximation's error; half's rounding
            assertEquals(type, y.dataType());
            assertEquals(0, y64.value().sub(y.value().castTo(DataType.DOUBLE)).amaxNumber().doubleValue(), tolerance,
                    type + " value");
            assertEquals(0, x64.grad().sub(x.grad().castTo(DataType.DOUBLE)).amaxNumber().doubleValue(), tolerance,
                    type + " gradient");
        }
    }

    @Test
    void anOutputThatIsNotAPlainArrayIsRefused() {
        INDArray x = Nd4j.ones(DataType.FLOAT, 4, 4);
        INDArray transposed = Nd4j.create(DataType.FLOAT, 4, 4).transpose();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GeluKernel.forward(x, transposed));
        assertEquals("GELU kernel: input of 16 elements, output of 16 that is not a plain row-major array", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GeluKernel.forward(x.castTo(DataType.DOUBLE), x));
    }
}
