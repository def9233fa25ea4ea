package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lora4j.testing.GradientCheck;
import dev.lora4j.testing.TestArrays;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * matmul and matmulTransposed for every supported rank combination: gradient checks in float64
 * (relative error below 1e-4) and forward values against a plain triple loop (to 1e-12).
 */
class MatmulTest {

    private static void check(long[] shapeA, long[] shapeB, boolean transposed) {
        Tensor a = Tensor.variable(TestArrays.normal(31, shapeA));
        Tensor b = Tensor.variable(TestArrays.normal(32, shapeB));
        GradientCheck.of(() -> transposed ? a.matmulTransposed(b) : a.matmul(b))
                .input("a", a).input("b", b).verify();
        Tensor c = transposed ? a.matmulTransposed(b) : a.matmul(b);
        assertEquals(naive(a.value(), b.value(), transposed), c.value().dup('c'),
                "forward of " + Arrays.toString(shapeA) + " x " + Arrays.toString(shapeB) + (transposed ? "ᵀ" : ""));
    }

    @Test
    void matrixTimesMatrix() {
        check(new long[] {3, 4}, new long[] {4, 5}, false);
    }

    @Test
    void matrixTimesTransposedMatrix() {
        check(new long[] {3, 4}, new long[] {5, 4}, true);
    }

    @Test
    void batched3d() {
        check(new long[] {2, 3, 4}, new long[] {2, 4, 5}, false);
    }

    @Test
    void batched3dTransposed() {
        check(new long[] {2, 3, 4}, new long[] {2, 5, 4}, true);
    }

    @Test
    void batched4d() {
        check(new long[] {2, 2, 3, 4}, new long[] {2, 2, 4, 3}, false);
    }

    @Test
    void batched4dTransposed() {
        // the attention-score pattern q·kᵀ
        check(new long[] {2, 2, 3, 4}, new long[] {2, 2, 5, 4}, true);
    }

    @Test
    void rank3TimesMatrix() {
        check(new long[] {2, 3, 4}, new long[] {4, 5}, false);
    }

    @Test
    void rank3TimesTransposedMatrix() {
        check(new long[] {2, 3, 4}, new long[] {5, 4}, true);
    }

    @Test
    void rank4TimesMatrix() {
        check(new long[] {2, 2, 3, 4}, new long[] {4, 2}, false);
    }

    @Test
    void matmulOfNonContiguousInputs() {
        // operands produced by permute/narrow
        Tensor a = Tensor.variable(TestArrays.normal(33, 4, 3, 4));
        Tensor b = Tensor.variable(TestArrays.normal(34, 2, 6, 4));
        // [3, 3, 4] x [4, 6]
        GradientCheck.of(() -> a.permute(1, 0, 2).narrow(1, 1, 3)
                        .matmul(b.permute(0, 2, 1).narrow(0, 0, 1).reshape(4, 6)))
                .input("a", a).input("b", b).verify();
        // [3, 4] x [4, 4] from transposes of slices
        GradientCheck.of(() -> a.narrow(1, 0, 1).reshape(4, 4).transpose().narrow(0, 1, 3)
                        .matmul(b.narrow(1, 2, 4).narrow(0, 1, 1).reshape(4, 4).transpose()))
                .input("a", a).input("b", b).verify();
    }

    @Test
    void shapeMismatchNamesBothShapes() {
        Tensor a = Tensor.variable(TestArrays.normal(35, 3, 4));
        Tensor b = Tensor.variable(TestArrays.normal(36, 5, 6));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.matmul(b));
        assertEquals("matmul shapes do not fit: [3, 4] x [5, 6]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> a.matmulTransposed(b));
        assertEquals("matmul shapes do not fit: [3, 4] x [5, 6]ᵀ", e.getMessage());
        Tensor batched = Tensor.variable(TestArrays.normal(37, 2, 3, 4));
        Tensor otherBatch = Tensor.variable(TestArrays.normal(38, 3, 4, 5));
        e = assertThrows(IllegalArgumentException.class, () -> batched.matmul(otherBatch));
        assertEquals("matmul shapes do not fit: [2, 3, 4] x [3, 4, 5]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> batched.matmul(b));
        assertEquals("matmul shapes do not fit: [2, 3, 4] x [5, 6]", e.getMessage());
    }

    @Test
    void resultShapes() {
        Tensor a = Tensor.constant(TestArrays.normal(39, 2, 2, 3, 4));
        assertArrayEquals(new long[] {2, 2, 3, 5}, a.matmul(Tensor.constant(TestArrays.normal(40, 2, 2, 4, 5))).shape());
        assertArrayEquals(new long[] {2, 2, 3, 3}, a.matmulTransposed(a).shape());
        assertArrayEquals(new long[] {2, 2, 3, 7}, a.matmulTransposed(Tensor.constant(TestArrays.normal(41, 7, 4))).shape());
    }

    /** op(a)·op(b) with leading batch dimensions (equal, or absent for a matrix b), by loops. */
    static INDArray naive(INDArray a, INDArray b, boolean transposeB) {
        long[] sa = a.shape();
        int r = sa.length;
        long m = sa[r - 2];
        long k = sa[r - 1];
        long n = transposeB ? b.size(b.rank() - 2) : b.size(b.rank() - 1);
        long[] outShape = sa.clone();
        outShape[r - 1] = n;
        double[] out = new double[Math.toIntExact(a.length() / k * n)];
        long batches = a.length() / (m * k);
        INDArray a3 = a.dup('c').reshape('c', batches, m, k);
        INDArray b3 = b.rank() == 2 ? null : b.dup('c').reshape('c', batches, b.size(-2), b.size(-1));
        int o = 0;
        for (long t = 0; t < batches; t++) {
            for (long i = 0; i < m; i++) {
                for (long j = 0; j < n; j++) {
                    double s = 0;
                    for (long p = 0; p < k; p++) {
                        double bv;
                        if (b3 == null) {
                            bv = transposeB ? b.getDouble(j, p) : b.getDouble(p, j);
                        } else {
                            bv = transposeB ? b3.getDouble(t, j, p) : b3.getDouble(t, p, j);
                        }
                        s += a3.getDouble(t, i, p) * bv;
                    }
                    out[o++] = s;
                }
            }
        }
        return TestArrays.of(out, outShape);
    }
}
