package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lora4j.autograd.internal.LayerNormKernel;
import dev.lora4j.testing.TestArrays;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link LayerNormKernel}'s float32 loops, which float32 layer normalisation falls back on where
 * oneDNN is not used (elsewhere {@code Functional.layerNorm} sends float32 to oneDNN, so the
 * functional tests no longer reach them), against its float64 loops (what the finite-difference
 * checks exercise): output and input gradient within 1e-5, the parameters' gradients (sums over
 * all rows) within 1e-4, relative to max(1, |value|).
 */
class LayerNormKernelTest {

    @Test
    void theFloat32LoopsAgreeWithTheFloat64Ones() {
        int rows = 40;
        int width = 96;
        INDArray x = TestArrays.normal(11, rows, width).muli(3).addi(-1.25);
        INDArray gamma = TestArrays.normal(12, width);
        INDArray beta = TestArrays.normal(13, width);
        INDArray g = TestArrays.normal(14, rows, width);
        double eps = 1e-12;
        Result reference = run(x, gamma, beta, g, eps);
        Result single = run(x.castTo(DataType.FLOAT), gamma.castTo(DataType.FLOAT), beta.castTo(DataType.FLOAT),
                g.castTo(DataType.FLOAT), eps);
        assertClose(reference.y, single.y, 1e-5, "y");
        assertClose(reference.dx, single.dx, 1e-5, "dx");
        for (int c = 0; c < width; c++) {
            assertEquals(reference.dGamma[c], single.dGamma[c], 1e-4 * Math.max(1, Math.abs(reference.dGamma[c])), "dγ " + c);
            assertEquals(reference.dBeta[c], single.dBeta[c], 1e-4 * Math.max(1, Math.abs(reference.dBeta[c])), "dβ " + c);
        }
    }

    private record Result(INDArray y, INDArray dx, double[] dGamma, double[] dBeta) {}

    private static Result run(INDArray x, INDArray gamma, INDArray beta, INDArray g, double eps) {
        INDArray y = Nd4j.createUninitialized(x.dataType(), x.shape());
        INDArray dx = Nd4j.createUninitialized(x.dataType(), x.shape());
        double[] dGamma = new double[(int) gamma.length()];
        double[] dBeta = new double[(int) gamma.length()];
        LayerNormKernel kernel = LayerNormKernel.forward(x, gamma, beta, eps, y);
        kernel.backward(g, gamma, dx, dGamma, dBeta);
        return new Result(y, dx, dGamma, dBeta);
    }

    private static void assertClose(INDArray expected, INDArray actual, double tolerance, String what) {
        for (long i = 0; i < expected.length(); i++) {
            double e = expected.getDouble(i);
            assertEquals(e, actual.getDouble(i), tolerance * Math.max(1, Math.abs(e)), what + " at " + i);
        }
    }
}
