package dev.lora4j.autograd.internal;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.BooleanSupplier;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.FloatPointer;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every matrix product of lora4j, single and batched: {@code c = α·op(a)·op(b) + β·c}.
 *
 * <p>Float32 operands whose matrices have a unit stride in one of their two dimensions (plain
 * arrays, transposed views, row ranges, permuted views such as attention heads) go to oneDNN's
 * {@code dnnl_sgemm}, which chooses its kernels from the CPU's instruction sets at run time.
 * Everything else (float64, half, other strides) and every product when oneDNN cannot be loaded
 * goes to ND4J's {@code Nd4j.gemm} (OpenBLAS). OpenBLAS 0.3.19 chooses its kernels from the CPU
 * model and runs generic ones on a model it does not know: on this project's Xeon (family 6, model
 * 207) that made every float32 product about 6× slower than oneDNN's (BENCHMARKS.md, "oneDNN
 * GEMMs"). The system property {@code lora4j.gemm=openblas} sends every product to ND4J, for
 * comparisons. Batched products (attention's heads) go to one oneDNN matmul primitive over the
 * whole batch ({@link Matmul}).
 *
 * <p>oneDNN runs on OpenMP, whose thread count is per thread; {@link #threads} records the split
 * {@code dev.lora4j.NativeThreads} asked of the calling thread, so that the products use the GEMM
 * threads even where the element-wise operations run on fewer.
 */
public final class Gemm {

    private static final Logger LOG = LoggerFactory.getLogger(Gemm.class);
    private static final boolean ONEDNN = loadOneDnn();
    private static final ThreadLocal<int[]> THREADS = new ThreadLocal<>();
    /** Batched products as one oneDNN matmul ({@link Matmul}); {@code -Dlora4j.gemm.batched=loop} for one sgemm per entry. */
    private static final boolean BATCHED_MATMUL = !"loop".equals(System.getProperty("lora4j.gemm.batched"));

    private Gemm() {}

    /** Whether float32 products go to oneDNN in this process. */
    public static boolean usesOneDnn() {
        return ONEDNN;
    }

    /**
     * Records that the calling thread's products should run on {@code gemmThreads} OpenMP threads
     * while its other native operations run on {@code opThreads} (the thread's OpenMP setting).
     */
    public static void threads(int gemmThreads, int opThreads) {
        THREADS.set(gemmThreads == opThreads ? null : new int[] {gemmThreads, opThreads});
    }

    /**
     * {@code op(a)·op(b)} as a new c-ordered array (in the current workspace, if any): matrices, or
     * arrays of equal rank whose leading (batch) dimensions are equal.
     *
     * @throws IllegalArgumentException when the shapes do not fit
     */
    public static INDArray product(INDArray a, INDArray b, boolean transposeA, boolean transposeB) {
        long[] shape = resultShape(a, b, transposeA, transposeB);
        if (Shapes.product(shape) == 0 || a.length() == 0) {
            return Nd4j.zeros(a.dataType(), shape);
        }
        if (a.rank() == 2 && !eligible(a, b, null)) {
            return Nd4j.gemm(a, b, transposeA, transposeB);
        }
        if (a.rank() > 2 && !eligible(a, b, null)) {
            return Nd4j.matmul(a, b, transposeA, transposeB, false);
        }
        INDArray c = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
        oneDnn(a, b, c, transposeA, transposeB, 1f, 0f);
        return c;
    }

    /**
     * {@code c ← α·op(a)·op(b) + β·c} in place, for matrices or batches of them; c may be a view
     * (e.g. attention heads written straight into a {@code [batch, time, heads, dim]} array).
     *
     * @throws IllegalArgumentException when the shapes do not fit
     */
    public static void into(INDArray a, INDArray b, INDArray c, boolean transposeA, boolean transposeB,
            double alpha, double beta) {
        long[] shape = resultShape(a, b, transposeA, transposeB);
        if (!Arrays.equals(shape, c.shape())) {
            throw new IllegalArgumentException("gemm: the output " + Arrays.toString(c.shape())
                    + " is not the product's " + Arrays.toString(shape));
        }
        if (c.length() == 0) {
            return;
        }
        if (a.length() == 0) {
            c.muli(beta);
            return;
        }
        boolean viaOneDnn = eligible(a, b, c);
        if (!viaOneDnn && a.rank() == 2) {
            Nd4j.gemm(a, b, c, transposeA, transposeB, alpha, beta);
            return;
        }
        if (!viaOneDnn) {
            INDArray product = Nd4j.matmul(a, b, transposeA, transposeB, false).muli(alpha);
            c.assign(beta == 0 ? product : product.addi(c.mul(beta)));
            return;
        }
        oneDnn(a, b, c, transposeA, transposeB, (float) alpha, (float) beta);
    }

    /**
     * {@code a·op(w) + bias} as a new c-ordered matrix (in the current workspace, if any), the bias
     * added to every row: where oneDNN is used, by its binary primitive in a pass over the product (in
     * the training step that measured faster than the matmul primitive adding it as it writes;
     * BENCHMARKS.md, "… the bias after the product"), else by ND4J.
     *
     * @param bias {@code [n]} (any shape of n elements), or {@code null}
     * @throws IllegalArgumentException when the shapes do not fit
     */
    public static INDArray linear(INDArray a, INDArray w, @Nullable INDArray bias, boolean transposeW) {
        INDArray c = product(a, w, false, transposeW);
        if (bias == null || c.length() == 0) {
            return c;
        }
        INDArray row = bias.reshape(bias.length());
        if (!OneDnnKernels.addRowInPlace(c, row)) {
            c.addiRowVector(row.dataType() == c.dataType() ? row : row.castTo(c.dataType()));
        }
        return c;
    }

    /** Runs {@code work} on the GEMM thread count {@link #threads} recorded for the calling thread. */
    private static boolean onGemmThreads(BooleanSupplier work) {
        int[] split = THREADS.get();
        if (split != null) {
            setOmpThreads(split[0]);
        }
        try {
            return work.getAsBoolean();
        } finally {
            if (split != null) {
                setOmpThreads(split[1]);
            }
        }
    }

    private static long[] resultShape(INDArray a, INDArray b, boolean transposeA, boolean transposeB) {
        int r = a.rank();
        if (r < 2 || r != b.rank()
                || !Arrays.equals(Arrays.copyOf(a.shape(), r - 2), Arrays.copyOf(b.shape(), r - 2))) {
            throw shapeError(a, b, transposeA, transposeB);
        }
        long k = a.size(transposeA ? r - 2 : r - 1);
        if (k != b.size(transposeB ? r - 1 : r - 2)) {
            throw shapeError(a, b, transposeA, transposeB);
        }
        long[] shape = a.shape().clone();
        shape[r - 2] = a.size(transposeA ? r - 1 : r - 2);
        shape[r - 1] = b.size(transposeB ? r - 2 : r - 1);
        return shape;
    }

    private static IllegalArgumentException shapeError(INDArray a, INDArray b, boolean transposeA,
            boolean transposeB) {
        return new IllegalArgumentException("gemm: shapes do not fit: " + Arrays.toString(a.shape())
                + (transposeA ? "ᵀ" : "") + " x " + Arrays.toString(b.shape()) + (transposeB ? "ᵀ" : ""));
    }

    private static boolean eligible(INDArray a, INDArray b, INDArray c) {
        if (!ONEDNN || a.dataType() != DataType.FLOAT || b.dataType() != DataType.FLOAT
                || Layout.of(a) == null || Layout.of(b) == null) {
            return false;
        }
        if (c == null) {
            return true;
        }
        Layout output = Layout.of(c);
        return c.dataType() == DataType.FLOAT && output != null && !output.transposed();
    }

    /** Products of every batch entry through oneDNN; shapes already checked. */
    private static void oneDnn(INDArray a, INDArray b, INDArray c, boolean transposeA, boolean transposeB,
            float alpha, float beta) {
        long count = Shapes.product(Arrays.copyOf(c.shape(), c.rank() - 2));
        onGemmThreads(() -> (count > 1 && BATCHED_MATMUL && Matmul.multiply(a, b, c, transposeA, transposeB, alpha, beta))
                || sgemmEach(a, b, c, transposeA, transposeB, alpha, beta));
    }

    /** One {@code dnnl_sgemm} per batch entry; returns true. */
    private static boolean sgemmEach(INDArray a, INDArray b, INDArray c, boolean transposeA, boolean transposeB,
            float alpha, float beta) {
        int r = a.rank();
        long m = c.size(r - 2);
        long n = c.size(r - 1);
        long k = a.size(transposeA ? r - 2 : r - 1);
        Layout la = Layout.of(a);
        Layout lb = Layout.of(b);
        Layout lc = Layout.of(c);
        byte ta = (byte) (transposeA != la.transposed ? 'T' : 'N');
        byte tb = (byte) (transposeB != lb.transposed ? 'T' : 'N');
        FloatPointer pa = pointer(a);
        FloatPointer pb = pointer(b);
        FloatPointer pc = pointer(c);
        long[] batch = Arrays.copyOf(c.shape(), r - 2);
        long count = Shapes.product(batch);
        long[] strideA = a.stride();
        long[] strideB = b.stride();
        long[] strideC = c.stride();
        long[] index = new long[r - 2];
        long offsetA = 0;
        long offsetB = 0;
        long offsetC = 0;
        for (long e = 0; e < count; e++) {
            int status = dnnl.dnnl_sgemm(ta, tb, m, n, k, alpha, pa.position(offsetA), la.leading,
                    pb.position(offsetB), lb.leading, beta, pc.position(offsetC), lc.leading);
            if (status != dnnl.dnnl_success) {
                throw new IllegalStateException(String.format(Locale.ROOT,
                        "oneDNN sgemm failed with status %d for %s x %s", status,
                        Arrays.toString(a.shape()), Arrays.toString(b.shape())));
            }
            // the next batch entry: the last batch index moves fastest
            for (int d = index.length - 1; d >= 0; d--) {
                offsetA += strideA[d];
                offsetB += strideB[d];
                offsetC += strideC[d];
                if (++index[d] < batch[d]) {
                    break;
                }
                offsetA -= strideA[d] * batch[d];
                offsetB -= strideB[d] * batch[d];
                offsetC -= strideC[d] * batch[d];
                index[d] = 0;
            }
        }
        return true;
    }

    /** The array's first element (ND4J's buffer of a view starts at the view's offset). */
    private static FloatPointer pointer(INDArray array) {
        return new FloatPointer(array.data().addressPointer());
    }

    private static void setOmpThreads(int threads) {
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
    }

    private static boolean loadOneDnn() {
        String choice = System.getProperty("lora4j.gemm", "onednn").trim().toLowerCase(Locale.ROOT);
        if (choice.equals("openblas")) {
            return false;
        }
        if (!choice.equals("onednn")) {
            throw new IllegalArgumentException(
                    "system property lora4j.gemm: expected onednn or openblas, got '" + choice + "'");
        }
        try {
            Nd4j.create(1); // ND4J's native library (and its OpenMP) first: oneDNN then shares that OpenMP
            float[] product = new float[1];
            int status = dnnl.dnnl_sgemm((byte) 'N', (byte) 'N', 1, 1, 1, 1f, new float[] {2f}, 1,
                    new float[] {3f}, 1, 0f, product, 1);
            if (status != dnnl.dnnl_success || product[0] != 6f) {
                LOG.warn("oneDNN's sgemm failed its self-check (status {}); float32 products use OpenBLAS", status);
                return false;
            }
            return true;
        } catch (LinkageError | RuntimeException e) {
            LOG.warn("oneDNN could not be loaded ({}); float32 products use OpenBLAS", e.toString());
            return false;
        }
    }

    /**
     * How the matrices of an array (its last two dimensions) lie in memory as oneDNN reads them:
     * row-major with leading dimension {@code leading}, or, when {@code transposed}, the transpose of
     * such a matrix (column-major).
     */
    private record Layout(long leading, boolean transposed) {

        static Layout of(INDArray array) {
            int r = array.rank();
            long rows = array.size(r - 2);
            long cols = array.size(r - 1);
            long rowStride = array.stride(r - 2);
            long colStride = array.stride(r - 1);
            if ((colStride == 1 || cols == 1) && (rowStride >= Math.max(1, cols) || rows == 1)) {
                return new Layout(rows == 1 ? Math.max(1, cols) : rowStride, false);
            }
            if ((rowStride == 1 || rows == 1) && (colStride >= Math.max(1, rows) || cols == 1)) {
                return new Layout(cols == 1 ? Math.max(1, rows) : colStride, true);
            }
            return null;
        }
    }
}
