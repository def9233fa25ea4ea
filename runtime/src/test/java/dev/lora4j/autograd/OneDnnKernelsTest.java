package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.internal.OneDnnKernels;
import dev.lora4j.testing.TestArrays;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * oneDNN's GELU, layer normalisation and softmax primitives ({@link OneDnnKernels}), forward and
 * backward, its row addition (a linear layer's bias), element-wise sums and dropout's byte-mask products (exact), against the formulas evaluated here in double from the float32 inputs: GELU with an erf
 * summed by its series, layer normalisation and softmax row by row. The float32 results are compared
 * within 2e-6 (GELU's value), 2e-5 (its derivative, whose erf approximation is the least exact), 1e-5
 * (layer normalisation) and 1e-6 (softmax) times max(1, |expected|). The kernels must run here (this
 * build ships oneDNN for linux-x86_64) and must decline, touching nothing, what they cannot read.
 */
class OneDnnKernelsTest {

    @Test
    void geluAndItsGradientAsTheErfFormulaGivesThem() {
        INDArray x = f(TestArrays.uniform(1, -7, 7, 37, 53));
        INDArray g = f(TestArrays.normal(2, 37, 53));
        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, 37, 53);
        INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, 37, 53);
        assertTrue(OneDnnKernels.geluForward(x, y), "oneDNN ran the forward pass");
        assertTrue(OneDnnKernels.geluBackward(x, g, dx), "oneDNN ran the backward pass");
        for (int i = 0; i < x.length(); i++) {
            double v = x.getDouble(i);
            double cdf = 0.5 * (1 + ActivationAndSoftmaxTest.erf(v / Math.sqrt(2)));
            double pdf = Math.exp(-v * v / 2) / Math.sqrt(2 * Math.PI);
            assertClose(v * cdf, y.getDouble(i), 2e-6, "gelu at " + v);
            assertClose(g.getDouble(i) * (cdf + v * pdf), dx.getDouble(i), 2e-5, "gelu's gradient at " + v);
        }
    }

    @Test
    void layerNormalisationAndItsGradientsRowByRow() {
        int rows = 9;
        int width = 31;
        INDArray x = f(TestArrays.normal(3, rows, width)).muli(2.5).addi(0.7);
        INDArray gamma = f(TestArrays.normal(4, width));
        INDArray beta = f(TestArrays.normal(5, width));
        INDArray g = f(TestArrays.normal(6, rows, width));
        double eps = 1e-5;
        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, rows, width);
        INDArray mean = Nd4j.createUninitialized(DataType.FLOAT, rows);
        INDArray variance = Nd4j.createUninitialized(DataType.FLOAT, rows);
        INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, rows, width);
        INDArray dGamma = Nd4j.createUninitialized(DataType.FLOAT, width);
        INDArray dBeta = Nd4j.createUninitialized(DataType.FLOAT, width);
        assertTrue(OneDnnKernels.layerNormForward(x, gamma, beta, eps, y, mean, variance));
        assertTrue(OneDnnKernels.layerNormBackward(x, gamma, beta, mean, variance, g, eps, dx, dGamma, dBeta));
        double[] expectedDGamma = new double[width];
        double[] expectedDBeta = new double[width];
        for (int r = 0; r < rows; r++) {
            double mu = 0;
            for (int c = 0; c < width; c++) {
                mu += x.getDouble(r, c) / width;
            }
            double var = 0;
            for (int c = 0; c < width; c++) {
                var += Math.pow(x.getDouble(r, c) - mu, 2) / width;
            }
            double inv = 1 / Math.sqrt(var + eps);
            assertClose(mu, mean.getDouble(r), 1e-5, "mean of row " + r);
            assertClose(var, variance.getDouble(r), 1e-5, "variance of row " + r);
            // dx = inv·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)), dxhat = g·γ
            double meanD = 0;
            double meanDX = 0;
            for (int c = 0; c < width; c++) {
                double xhat = (x.getDouble(r, c) - mu) * inv;
                double d = g.getDouble(r, c) * gamma.getDouble(c);
                meanD += d / width;
                meanDX += d * xhat / width;
                expectedDGamma[c] += g.getDouble(r, c) * xhat;
                expectedDBeta[c] += g.getDouble(r, c);
                assertClose(xhat * gamma.getDouble(c) + beta.getDouble(c), y.getDouble(r, c), 1e-5, "y at " + r + "," + c);
            }
            for (int c = 0; c < width; c++) {
                double xhat = (x.getDouble(r, c) - mu) * inv;
                double d = g.getDouble(r, c) * gamma.getDouble(c);
                assertClose(inv * (d - meanD - xhat * meanDX), dx.getDouble(r, c), 1e-5, "dx at " + r + "," + c);
            }
        }
        for (int c = 0; c < width; c++) {
            assertClose(expectedDGamma[c], dGamma.getDouble(c), 1e-5, "dγ at " + c);
            assertClose(expectedDBeta[c], dBeta.getDouble(c), 1e-5, "dβ at " + c);
        }
    }

    @Test
    void softmaxInPlaceAndItsGradientRowByRow() {
        INDArray x = f(TestArrays.normal(7, 12, 19)).muli(4);
        INDArray g = f(TestArrays.normal(8, 12, 19));
        INDArray y = x.dup();
        assertTrue(OneDnnKernels.softmaxForward(y, y), "in place");
        INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, 12, 19);
        assertTrue(OneDnnKernels.softmaxBackward(y, g, dx));
        INDArray inPlace = g.dup();
        assertTrue(OneDnnKernels.softmaxBackward(y, inPlace, inPlace), "over the output gradient itself");
        assertEquals(0.0, inPlace.sub(dx).amaxNumber().doubleValue(), 0.0, "in place gives what out of place gives");
        for (int r = 0; r < 12; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < 19; c++) {
                max = Math.max(max, x.getDouble(r, c));
            }
            double[] p = new double[19];
            double sum = 0;
            for (int c = 0; c < 19; c++) {
                p[c] = Math.exp(x.getDouble(r, c) - max);
                sum += p[c];
            }
            double dot = 0;
            for (int c = 0; c < 19; c++) {
                p[c] /= sum;
                dot += p[c] * g.getDouble(r, c);
            }
            for (int c = 0; c < 19; c++) {
                assertClose(p[c], y.getDouble(r, c), 1e-6, "softmax at " + r + "," + c);
                assertClose(p[c] * (g.getDouble(r, c) - dot), dx.getDouble(r, c), 1e-6, "gradient at " + r + "," + c);
            }
        }
    }

    @Test
    void aRowAddedToEveryRowOfAMatrixExactly() {
        INDArray c = f(TestArrays.normal(10, 37, 23));
        INDArray row = f(TestArrays.normal(11, 23));
        INDArray before = c.dup();
        assertTrue(OneDnnKernels.addRowInPlace(c, row));
        for (int r = 0; r < 37; r++) {
            for (int k = 0; k < 23; k++) {
                // one float32 addition: exactly what (float) (a + b) gives
                assertEquals((float) (before.getFloat(r, k) + row.getFloat(k)), c.getFloat(r, k), 0f, "at " + r + "," + k);
            }
        }
        assertFalse(OneDnnKernels.addRowInPlace(c, f(TestArrays.normal(12, 22))), "a row of another width");
        assertFalse(OneDnnKernels.addRowInPlace(c.transpose(), f(TestArrays.normal(12, 37))), "a transposed view");
    }

    @Test
    void elementwiseSumsExactlyAndInPlace() {
        INDArray a = f(TestArrays.normal(13, 7, 19));
        INDArray b = f(TestArrays.normal(14, 7, 19));
        INDArray sum = OneDnnKernels.add(a, b);
        assertTrue(sum != null);
        INDArray inPlace = a.dup();
        assertTrue(OneDnnKernels.add(inPlace, b, inPlace));
        for (int r = 0; r < 7; r++) {
            for (int k = 0; k < 19; k++) {
                // one float32 addition: exactly what (float) of the double sum gives
                assertEquals((float) ((double) a.getFloat(r, k) + b.getFloat(r, k)), sum.getFloat(r, k), 0f,
                        "sum at " + r + "," + k);
                assertEquals(sum.getFloat(r, k), inPlace.getFloat(r, k), 0f, "in place at " + r + "," + k);
            }
        }
        assertEquals(null, OneDnnKernels.add(a, f(TestArrays.normal(15, 19, 7))), "another shape of the same length");
        assertEquals(null, OneDnnKernels.add(a.transpose(), b.transpose()), "transposed views");
        assertEquals(null, OneDnnKernels.add(a.castTo(DataType.DOUBLE), b.castTo(DataType.DOUBLE)), "float64");
        INDArray untouched = Nd4j.zeros(DataType.FLOAT, 7, 18);
        assertFalse(OneDnnKernels.add(a, b, untouched), "an output of another length");
        assertEquals(0.0, untouched.amaxNumber().doubleValue(), 0.0, "nothing was written");
    }

    @Test
    void aByteMaskMultipliedInWithItsScaleExactly() {
        INDArray x = f(TestArrays.normal(22, 9, 17));
        INDArray mask = Nd4j.rand(DataType.FLOAT, 9 * 17).gt(0.3).castTo(DataType.UBYTE);
        float scale = (float) (1.0 / 0.7);
        INDArray out = Nd4j.zeros(DataType.FLOAT, 9 * 17);
        assertTrue(OneDnnKernels.multiplyByMask(x, mask, scale, out), "lengths agree, shapes need not");
        int kept = 0;
        for (int i = 0; i < 9 * 17; i++) {
            float value = x.getFloat(i / 17, i % 17);
            boolean keep = mask.getInt(i) == 1;
            kept += keep ? 1 : 0;
            // the float product x·scale where kept, x·0 (a zero of x's sign) where dropped
            assertEquals(Float.floatToIntBits(value * (keep ? scale : 0f)), Float.floatToIntBits(out.getFloat(i)),
                    "at " + i + ": " + value + (keep ? " kept" : " dropped"));
        }
        assertTrue(kept > 0 && kept < 9 * 17, "the mask keeps some and drops some");
        INDArray untouched = Nd4j.zeros(DataType.FLOAT, 9 * 17);
        assertFalse(OneDnnKernels.multiplyByMask(x, mask.castTo(DataType.FLOAT), scale, untouched), "a float mask");
        assertFalse(OneDnnKernels.multiplyByMask(x.transpose(), mask, scale, untouched), "a transposed view");
        assertFalse(OneDnnKernels.multiplyByMask(x, mask.get(NDArrayIndex.interval(0, 100)), scale, untouched),
                "a mask of another length");
        assertEquals(0.0, untouched.amaxNumber().doubleValue(), 0.0, "nothing was written");
    }

    @Test
    void aMaskAddedInPlaceBroadcastOverItsSizeOneDimensions() {
        INDArray scores = f(TestArrays.normal(16, 3, 4, 5, 6));
        INDArray padding = f(TestArrays.normal(17, 3, 1, 1, 6));
        INDArray causal = f(TestArrays.normal(18, 5, 6)); // fewer dimensions: leading ones
        INDArray expected = scores.add(padding).add(causal);
        INDArray c = scores.dup();
        assertTrue(OneDnnKernels.addInPlace(c, padding));
        assertTrue(OneDnnKernels.addInPlace(c, causal));
        for (int b = 0; b < 3; b++) {
            for (int h = 0; h < 4; h++) {
                for (int t = 0; t < 5; t++) {
                    for (int k = 0; k < 6; k++) {
                        // two float32 additions in the same order: exactly ND4J's broadcast sums
                        assertEquals(expected.getFloat(b, h, t, k), c.getFloat(b, h, t, k), 0f,
                                "at " + b + "," + h + "," + t + "," + k);
                    }
                }
            }
        }
        INDArray before = c.dup();
        assertFalse(OneDnnKernels.addInPlace(c, f(TestArrays.normal(19, 3, 1, 1, 5))), "a dimension that does not fit");
        assertFalse(OneDnnKernels.addInPlace(c, f(TestArrays.normal(20, 2, 3, 4, 5, 6))), "more dimensions than c");
        assertFalse(OneDnnKernels.addInPlace(c.permute(0, 1, 3, 2), f(TestArrays.normal(21, 3, 1, 1, 5))), "a view");
        assertEquals(before, c, "nothing was written");
    }

    @Test
    void viewsFloat64AndMismatchedShapesAreDeclinedUntouched() {
        INDArray x = f(TestArrays.normal(9, 6, 8));
        INDArray out = Nd4j.zeros(DataType.FLOAT, 6, 8);
        assertFalse(OneDnnKernels.geluForward(x.transpose(), out.transpose()), "a transposed view");
        assertFalse(OneDnnKernels.softmaxForward(x.get(NDArrayIndex.interval(1, 4),
                NDArrayIndex.all()), out.get(NDArrayIndex.interval(1, 4),
                        NDArrayIndex.all())), "a row range with an offset");
        assertFalse(OneDnnKernels.geluForward(x.castTo(DataType.DOUBLE), out.castTo(DataType.DOUBLE)), "float64");
        assertFalse(OneDnnKernels.geluForward(x, Nd4j.zeros(DataType.FLOAT, 5, 8)), "an output of another length");
        assertEquals(0.0, out.amaxNumber().doubleValue(), 0.0, "nothing was written");
    }

    /** Float32 test values. */
    private static INDArray f(INDArray values) {
        return values.castTo(DataType.FLOAT);
    }

    private static void assertClose(double expected, double actual, double tolerance, String what) {
        assertEquals(expected, actual, tolerance * Math.max(1, Math.abs(expected)), what);
    }
}
