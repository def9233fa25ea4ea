package dev.lora4j.train;

import static dev.lora4j.train.Arrays64.grad;
import static dev.lora4j.train.Arrays64.param;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.nn.Parameter;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class GradientClippingTest {

    @Test
    void scalesToExactlyMaxNorm() {
        Parameter a = param(0, 0);
        Parameter b = param(0);
        Parameter none = param(5);
        grad(a, 3, 4);
        grad(b, 12);
        List<Parameter> ps = List.of(a, b, none);
        assertEquals(13.0, GradientClipping.globalNorm(ps), 1e-12);

        double before = GradientClipping.clipByGlobalNorm(ps, 1.0);

        assertEquals(13.0, before, 1e-12);
        assertEquals(1.0, GradientClipping.globalNorm(ps), 1e-6);
        assertArrayEquals(new double[] {3 / 13.0, 4 / 13.0}, a.grad().toDoubleVector(), 1e-12);
        assertArrayEquals(new double[] {12 / 13.0}, b.grad().toDoubleVector(), 1e-12);
    }

    @Test
    void float32GradientsToo() {
        Parameter p = new Parameter(Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, 100));
        p.restoreGrad(Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 100).muli(50));
        GradientClipping.clipByGlobalNorm(List.of(p), 0.75);
        assertEquals(0.75, GradientClipping.globalNorm(List.of(p)), 1e-6);
    }

    @Test
    void leavesSmallGradientsAlone() {
        Parameter a = param(0, 0);
        grad(a, 0.3, 0.4);
        INDArray g = a.grad();
        assertEquals(0.5, GradientClipping.clipByGlobalNorm(List.of(a), 1.0), 1e-12);
        assertSame(g, a.grad());
    }

    @Test
    void reportsNonFiniteNormWithoutScaling() {
        Parameter a = param(0, 0);
        Parameter b = param(0);
        grad(a, 1, Double.NaN);
        grad(b, 100);
        INDArray gb = b.grad();
        assertTrue(Double.isNaN(GradientClipping.clipByGlobalNorm(List.of(a, b), 1.0)));
        assertSame(gb, b.grad());
        assertEquals(100, b.grad().getDouble(0), 0);

        grad(a, 1, Double.POSITIVE_INFINITY);
        assertEquals(Double.POSITIVE_INFINITY, GradientClipping.clipByGlobalNorm(List.of(a, b), 1.0));
    }
}
