package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.internal.Gemm;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * {@link Gemm} against products summed here in double loops from the operands' elements (read
 * through ND4J's indexing, so every layout is read as ND4J means it): each transpose, transposed
 * views, row and column ranges, permuted batches, accumulation into a view, and the float64
 * fallback. Operands are uniform in [−1, 1]; float32 products of k such terms are compared within
 * {@value #FLOAT_TOLERANCE}·√k.
 */
class GemmTest {

    private static final double FLOAT_TOLERANCE = 2e-6;
    private final Random random = new Random(7);

    @Test
    void oneDnnIsLoadedOnThisPlatform() {
        // the build ships oneDNN for linux-x86_64; falling back here would hide a 6× regression
        assertTrue(Gemm.usesOneDnn() || "openblas".equals(System.getProperty("lora4j.gemm")));
    }

    @Test
    void everyTransposeOfPlainMatrices() {
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                INDArray a = uniform(ta ? new long[] {13, 9} : new long[] {9, 13});
                INDArray b = uniform(tb ? new long[] {11, 13} : new long[] {13, 11});
                assertClose(reference(a, b, ta, tb), Gemm.product(a, b, ta, tb), 13);
            }
        }
    }

    @Test
    void transposedViewsRowRangesAndColumnRanges() {
        INDArray big = uniform(new long[] {20, 30});
        INDArray rows = big.get(NDArrayIndex.interval(3, 12), NDArrayIndex.all()); // offset, plain stride
        INDArray columns = big.get(NDArrayIndex.all(), NDArrayIndex.interval(5, 14)); // leading dim 30
        INDArray transposed = uniform(new long[] {9, 20}).transpose(); // column-major [20, 9]
        assertClose(reference(columns, rows, false, false), Gemm.product(columns, rows, false, false), 9);
        assertClose(reference(transposed, columns, true, false), Gemm.product(transposed, columns, true, false), 20);
        assertClose(reference(columns, transposed, true, false), Gemm.product(columns, transposed, true, false), 20);
        assertClose(reference(rows, rows, false, true), Gemm.product(rows, rows, false, true), 30);
        INDArray fOrder = uniform(new long[] {30, 7}).dup('f');
        assertClose(reference(big, fOrder, false, false), Gemm.product(big, fOrder, false, false), 30);
    }

    @Test
    void batchesOfPermutedViewsAsAttentionHeadsAre() {
        // [batch, time, heads, dim] viewed as [batch, heads, time, dim] without a copy
        INDArray q = uniform(new long[] {3, 5, 4, 6}).permute(0, 2, 1, 3);
        INDArray k = uniform(new long[] {3, 7, 4, 6}).permute(0, 2, 1, 3);
        INDArray scores = Gemm.product(q, k, false, true);
        assertArrayEquals(new long[] {3, 4, 5, 7}, scores.shape());
        for (int b = 0; b < 3; b++) {
            for (int h = 0; h < 4; h++) {
                INDArray qh = q.get(NDArrayIndex.point(b), NDArrayIndex.point(h));
                INDArray kh = k.get(NDArrayIndex.point(b), NDArrayIndex.point(h));
                INDArray sh = scores.get(NDArrayIndex.point(b), NDArrayIndex.point(h));
                assertClose(reference(qh, kh, false, true), sh, 6);
            }
        }
    }

    @Test
    void batchedTransposesAndARepeatedShapeWithNewDataAreRight() {
        // the backward products of attention: op(a) transposed, a cached primitive reused on new arrays
        for (int repeat = 0; repeat < 3; repeat++) {
            INDArray scores = uniform(new long[] {2, 3, 5, 7});
            INDArray q = uniform(new long[] {2, 5, 3, 4}).permute(0, 2, 1, 3);
            INDArray dk = Gemm.product(scores, q, true, false); // [2, 3, 7, 4]
            assertArrayEquals(new long[] {2, 3, 7, 4}, dk.shape());
            for (int b = 0; b < 2; b++) {
                for (int h = 0; h < 3; h++) {
                    INDArray sh = scores.get(NDArrayIndex.point(b), NDArrayIndex.point(h));
                    INDArray qh = q.get(NDArrayIndex.point(b), NDArrayIndex.point(h));
                    assertClose(reference(sh, qh, true, false), dk.get(NDArrayIndex.point(b), NDArrayIndex.point(h)), 5);
                }
            }
        }
    }

    @Test
    void intoAccumulatesWithAlphaAndBetaIntoAView() {
        INDArray a = uniform(new long[] {6, 8});
        INDArray b = uniform(new long[] {5, 8});
        INDArray target = uniform(new long[] {10, 9});
        INDArray view = target.get(NDArrayIndex.interval(2, 8), NDArrayIndex.interval(1, 6));
        double[][] expected = reference(a, b, false, true);
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 5; j++) {
                expected[i][j] = 0.5 * expected[i][j] + 2.0 * view.getDouble(i, j);
            }
        }
        INDArray outside = target.dup();
        Gemm.into(a, b, view, false, true, 0.5, 2.0);
        assertClose(expected, view, 8);
        for (int i = 0; i < 10; i++) {
            for (int j = 0; j < 9; j++) {
                if (i < 2 || i >= 8 || j < 1 || j >= 6) {
                    assertEquals(outside.getFloat(i, j), target.getFloat(i, j), 0.0, "outside the view at " + i + "," + j);
                }
            }
        }
    }

    @Test
    void linearAddsTheBiasToEveryRowForEachLayoutOfTheWeight() {
        // a single row too: ND4J gives its size-1 dimension a stride oneDNN would refuse to run
        for (int rows : new int[] {1, 7}) {
            for (boolean transposeW : new boolean[] {false, true}) {
                INDArray x = uniform(new long[] {rows, 12});
                INDArray w = uniform(transposeW ? new long[] {5, 12} : new long[] {12, 5});
                INDArray bias = uniform(new long[] {5});
                double[][] expected = reference(x, w, false, transposeW);
                for (double[] row : expected) {
                    for (int j = 0; j < 5; j++) {
                        row[j] += bias.getDouble(j);
                    }
                }
                assertClose(expected, Gemm.linear(x, w, bias, transposeW), 13);
                assertClose(reference(x, w, false, transposeW), Gemm.linear(x, w, null, transposeW), 12);
            }
        }
        // a bias of another type than the product's is added in a pass of its own, with the same result
        INDArray x = uniform(new long[] {3, 4});
        INDArray w = uniform(new long[] {4, 2});
        INDArray halfBias = uniform(new long[] {1, 2}).castTo(DataType.HALF);
        double[][] expected = reference(x, w, false, false);
        for (double[] row : expected) {
            for (int j = 0; j < 2; j++) {
                row[j] += halfBias.getDouble(0, j);
            }
        }
        assertClose(expected, Gemm.linear(x, w, halfBias, false), 5);
    }

    @Test
    void batchedProductsTakeAlphaAndBetaIntoPermutedOutputs() {
        // attention's scaled scores and its scaled query and key gradients, written into head views
        INDArray scores = uniform(new long[] {2, 3, 5, 7});
        INDArray k = uniform(new long[] {2, 7, 3, 4}).permute(0, 2, 1, 3);
        INDArray dq = uniform(new long[] {2, 5, 3, 4});
        INDArray before = dq.dup();
        INDArray heads = dq.permute(0, 2, 1, 3);
        Gemm.into(scores, k, heads, false, false, 0.25, 0.5);
        for (int b = 0; b < 2; b++) {
            for (int h = 0; h < 3; h++) {
                double[][] expected = reference(scores.get(NDArrayIndex.point(b), NDArrayIndex.point(h)),
                        k.get(NDArrayIndex.point(b), NDArrayIndex.point(h)), false, false);
                for (int t = 0; t < 5; t++) {
                    for (int d = 0; d < 4; d++) {
                        expected[t][d] = 0.25 * expected[t][d] + 0.5 * before.getDouble(b, t, h, d);
                    }
                }
                assertClose(expected, heads.get(NDArrayIndex.point(b), NDArrayIndex.point(h)), 7);
            }
        }
    }

    @Test
    void float64GoesToNd4jExactly() {
        INDArray a = uniform(new long[] {4, 5}).castTo(DataType.DOUBLE);
        INDArray b = uniform(new long[] {5, 3}).castTo(DataType.DOUBLE);
        INDArray product = Gemm.product(a, b, false, false);
        assertEquals(DataType.DOUBLE, product.dataType());
        assertEquals(Nd4j.gemm(a, b, false, false), product);
    }

    @Test
    void anEmptyInnerDimensionScalesTheOutputAndGivesZeros() {
        assertEquals(Nd4j.zeros(DataType.FLOAT, 3, 2),
                Gemm.product(Nd4j.create(DataType.FLOAT, 3, 0), Nd4j.create(DataType.FLOAT, 0, 2), false, false));
        INDArray a = Nd4j.create(DataType.FLOAT, 3, 0);
        INDArray b = Nd4j.create(DataType.FLOAT, 0, 2);
        INDArray c = Nd4j.ones(DataType.FLOAT, 3, 2);
        Gemm.into(a, b, c, false, false, 1.0, 3.0);
        assertEquals(Nd4j.ones(DataType.FLOAT, 3, 2).muli(3), c);
    }

    @Test
    void shapesThatDoNotFitAreRefusedWithBothShapes() {
        INDArray a = uniform(new long[] {4, 5});
        INDArray b = uniform(new long[] {4, 3});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gemm.product(a, b, false, false));
        assertTrue(e.getMessage().contains("[4, 5] x [4, 3]"), e.getMessage());
        INDArray wrong = Nd4j.create(DataType.FLOAT, 4, 4);
        IllegalArgumentException out = assertThrows(IllegalArgumentException.class,
                () -> Gemm.into(a, b, wrong, true, false, 1, 0));
        assertTrue(out.getMessage().contains("[4, 4]"), out.getMessage());
    }

    @Test
    void aThreadWithMoreGemmThreadsThanOpThreadsGetsTheSameProduct() throws Exception {
        INDArray a = uniform(new long[] {64, 48});
        INDArray b = uniform(new long[] {48, 40});
        INDArray[] result = new INDArray[1];
        Thread thread = new Thread(() -> {
            Gemm.threads(2, 1);
            result[0] = Gemm.product(a, b, false, false);
        });
        thread.start();
        thread.join();
        assertClose(reference(a, b, false, false), result[0], 48);
    }

    private INDArray uniform(long[] shape) {
        int n = 1;
        for (long d : shape) {
            n *= (int) d;
        }
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = random.nextFloat() * 2 - 1;
        }
        return Nd4j.createFromArray(values).reshape('c', shape);
    }

    private static double[][] reference(INDArray a, INDArray b, boolean ta, boolean tb) {
        long m = a.size(ta ? 1 : 0);
        long k = a.size(ta ? 0 : 1);
        long n = b.size(tb ? 0 : 1);
        double[][] out = new double[(int) m][(int) n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    sum += (ta ? a.getDouble(p, i) : a.getDouble(i, p)) * (tb ? b.getDouble(j, p) : b.getDouble(p, j));
                }
                out[i][j] = sum;
            }
        }
        return out;
    }

    private static void assertClose(double[][] expected, INDArray actual, int k) {
        assertEquals(expected.length, actual.size(0), "rows");
        assertEquals(expected[0].length, actual.size(1), "columns");
        double tolerance = FLOAT_TOLERANCE * Math.sqrt(k);
        for (int i = 0; i < expected.length; i++) {
            for (int j = 0; j < expected[0].length; j++) {
                assertEquals(expected[i][j], actual.getDouble(i, j), tolerance, "element " + i + "," + j);
            }
        }
    }
}
