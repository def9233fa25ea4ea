package dev.lora4j.autograd;

import dev.lora4j.autograd.internal.Gemm;
import dev.lora4j.autograd.internal.Shapes;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Matrix products, single and batched, with their gradients. */
final class MatrixOps {

    private MatrixOps() {}

    static Tensor matmul(Tensor a, Tensor b, boolean transposeA, boolean transposeB) {
        if (a.rank() >= 3 && b.rank() == 2 && !transposeA) {
            return rowsTimesMatrix(a, b, transposeB);
        }
        checkShapes(a, b, transposeA, transposeB);
        INDArray out = Gemm.product(a.value(), b.value(), transposeA, transposeB);
        return Tensor.result(out, g -> {
            if (a.requiresGrad()) {
                INDArray da = transposeA
                        ? Gemm.product(b.value(), g, transposeB, true)
                        : Gemm.product(g, b.value(), false, !transposeB);
                a.accumulateGradient(da);
            }
            if (b.requiresGrad()) {
                INDArray db = transposeB
                        ? Gemm.product(g, a.value(), true, transposeA)
                        : Gemm.product(a.value(), g, !transposeA, false);
                b.accumulateGradient(db);
            }
        }, a, b);
    }

    /** {@code a[..., k] · op(b)} with the leading dimensions of a flattened into rows. */
    private static Tensor rowsTimesMatrix(Tensor a, Tensor b, boolean transposeB) {
        long k = Shapes.last(a.shape());
        long inner = transposeB ? b.size(1) : b.size(0);
        long outer = transposeB ? b.size(0) : b.size(1);
        if (k != inner) {
            throw shapeError(a, b, transposeB);
        }
        INDArray rows = Shapes.asRows(a.value());
        INDArray out = Gemm.product(rows, b.value(), false, transposeB);
        long[] outShape = Shapes.withLast(a.shape(), outer);
        return Tensor.result(Shapes.reshape(out, outShape), g -> {
            INDArray gRows = Shapes.asRows(g);
            if (a.requiresGrad()) {
                a.accumulateGradient(Shapes.reshape(Gemm.product(gRows, b.value(), false, !transposeB), a.shape()));
            }
            if (b.requiresGrad()) {
                b.accumulateGradient(transposeB
                        ? Gemm.product(gRows, rows, true, false)
                        : Gemm.product(rows, gRows, true, false));
            }
        }, a, b);
    }

    private static void checkShapes(Tensor a, Tensor b, boolean transposeA, boolean transposeB) {
        if (a.rank() < 2 || a.rank() != b.rank()) {
            throw shapeError(a, b, transposeB);
        }
        int r = a.rank();
        long ka = transposeA ? a.size(r - 2) : a.size(r - 1);
        long kb = transposeB ? b.size(r - 1) : b.size(r - 2);
        boolean sameBatch = Arrays.equals(
                Arrays.copyOf(a.shape(), r - 2), Arrays.copyOf(b.shape(), r - 2));
        if (ka != kb || !sameBatch) {
            throw shapeError(a, b, transposeB);
        }
    }

    private static IllegalArgumentException shapeError(Tensor a, Tensor b, boolean transposeB) {
        return new IllegalArgumentException("matmul shapes do not fit: " + Arrays.toString(a.shape())
                + " x " + Arrays.toString(b.shape()) + (transposeB ? "ᵀ" : ""));
    }
}
