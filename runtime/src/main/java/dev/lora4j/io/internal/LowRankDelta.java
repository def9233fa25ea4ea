package dev.lora4j.io.internal;

import dev.lora4j.io.DType;
import dev.lora4j.io.TensorInfo;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * The update {@code s·C·G} a LoRA adapter adds to a weight seen as a C-order {@code [rows, cols]}
 * matrix, applied one row segment at a time in plain Java (no ND4J): {@code C} is {@code [rows,
 * r]} and {@code G} is {@code [r, cols]}. For {@code W += s·B·A} (linear layers; convolutions with
 * B flattened to {@code [out, r]} and A to {@code [r, in·kh·kw]}) {@code C = B} and {@code G = A};
 * for the transposed update {@code W += s·(B·A)ᵀ} (embeddings, {@code fan_in_fan_out}) {@code C =
 * Aᵀ} and {@code G = Bᵀ}.
 *
 * <p>Each row segment of {@code C·G} is summed over the rank, in order, in the working precision
 * (float, or double for F64 weights) into a scratch row, scaled by {@code s} rounded to that
 * precision and added to the weight: the operations of {@code W + s·(B·A)} with a float GEMM. The
 * weight row, the scratch row and the rows of {@code G} are separate arrays indexed by the same
 * column, which lets the JIT compile the loops to SIMD code. Not thread-safe (the scratch row).
 *
 * <p>For a DoRA adapter, {@link #withDora} gives the update followed by DoRA's rescaling, as PEFT's
 * {@code DoraLinearVariant.merge_safe}: {@code W' = (m / ‖W + s·ΔW‖) ⊙ (W + s·ΔW)} per output
 * feature (a row of {@code [out, in]}, a column of the transposed layout).
 */
public final class LowRankDelta {

    private final int rank;
    private final int cols;
    private final float[] coef;
    private final float[][] basis;
    private final float scale;
    private final double[] coefD;
    private final double[][] basisD;
    private final double scaleD;
    private final float[] sum;
    private final double[] sumD;
    private final int rows;
    private final boolean transposed;
    /** DoRA's {@code m / norm} per output feature, or null for a plain update. */
    private final float @Nullable [] doraFactor;
    private final double @Nullable [] doraFactorD;

    private LowRankDelta(int rank, int rows, int cols, boolean transposed, float[] coef, float[][] basis, double[] coefD,
            double[][] basisD, double scaling, float @Nullable [] doraFactor, double @Nullable [] doraFactorD) {
        this.rank = rank;
        this.rows = rows;
        this.cols = cols;
        this.transposed = transposed;
        this.doraFactor = doraFactor;
        this.doraFactorD = doraFactorD;
        this.coef = coef;
        this.basis = basis;
        this.coefD = coefD;
        this.basisD = basisD;
        this.scale = (float) scaling;
        this.scaleD = scaling;
        this.sum = coef != null ? new float[cols] : null;
        this.sumD = coefD != null ? new double[cols] : null;
    }

    /**
     * The update of the factors {@code a} (shape {@code [r, in]} or {@code [r, in, kh, kw]}) and
     * {@code b} ({@code [out, r]} or {@code [out, r, 1, 1]}) whose stored bytes are {@code aBytes}
     * and {@code bBytes}.
     *
     * @param transposed whether the weight is stored {@code [in, out]} ({@code (B·A)ᵀ})
     * @param inDouble whether to work in double precision (F64 weights) rather than float
     */
    public static LowRankDelta of(TensorInfo a, ByteBuffer aBytes, TensorInfo b, ByteBuffer bBytes, boolean transposed,
            double scaling, boolean inDouble) {
        long[] shape = a.shape();
        int r = Math.toIntExact(shape[0]);
        int in = Math.toIntExact(shape.length == 4 ? shape[1] * shape[2] * shape[3] : shape[1]);
        int out = Math.toIntExact(b.shape()[0]);
        int cols = transposed ? out : in;
        if (inDouble) {
            double[] aValues = new double[Math.multiplyExact(r, in)];
            double[] bValues = new double[Math.multiplyExact(out, r)];
            ElementCodec.decode(aBytes, a.dtype(), 0, aValues, 0, aValues.length);
            ElementCodec.decode(bBytes, b.dtype(), 0, bValues, 0, bValues.length);
            double[] c = transposed ? transpose(aValues, r, in) : bValues;
            double[][] g = new double[r][cols];
            for (int k = 0; k < r; k++) {
                for (int j = 0; j < cols; j++) {
                    g[k][j] = transposed ? bValues[j * r + k] : aValues[k * in + j];
                }
            }
            return new LowRankDelta(r, transposed ? in : out, cols, transposed, null, null, c, g, scaling, null, null);
        }
        float[] aValues = new float[Math.multiplyExact(r, in)];
        float[] bValues = new float[Math.multiplyExact(out, r)];
        ElementCodec.decode(aBytes, a.dtype(), 0, aValues, 0, aValues.length);
        ElementCodec.decode(bBytes, b.dtype(), 0, bValues, 0, bValues.length);
        float[] c = transposed ? transpose(aValues, r, in) : bValues;
        float[][] g = new float[r][cols];
        for (int k = 0; k < r; k++) {
            for (int j = 0; j < cols; j++) {
                g[k][j] = transposed ? bValues[j * r + k] : aValues[k * in + j];
            }
        }
        return new LowRankDelta(r, transposed ? in : out, cols, transposed, c, g, null, null, scaling, null, null);
    }

    /**
     * This update followed by DoRA's rescaling by {@code m / ‖W + s·ΔW‖} per output feature, for the
     * weight whose stored bytes are {@code weight} (of dtype {@code weightType}, {@code [out, in]} or,
     * transposed, {@code [in, out]}) and the magnitude vector {@code m [out]}. Reads the whole weight
     * once, adding this update, to take the norms: the squares are summed in double precision, the
     * norm and {@code m / norm} are then rounded to the working precision, as PEFT computes them in
     * the weight's dtype.
     *
     * @throws IllegalStateException when called on a DoRA update already
     */
    public LowRankDelta withDora(ByteBuffer weight, DType weightType, ByteBuffer magnitude, DType magnitudeType) {
        if (doraFactor != null || doraFactorD != null) {
            throw new IllegalStateException("the DoRA rescaling is applied already");
        }
        int outFeatures = transposed ? cols : rows;
        double[] squares = new double[outFeatures];
        if (coef != null) {
            float[] row = new float[cols];
            for (int i = 0; i < rows; i++) {
                ElementCodec.decode(weight, weightType, Math.multiplyExact(i, cols), row, 0, cols);
                addTo(row, i, 0, cols);
                for (int j = 0; j < cols; j++) {
                    squares[transposed ? j : i] += (double) row[j] * row[j];
                }
            }
            float[] m = new float[outFeatures];
            ElementCodec.decode(magnitude, magnitudeType, 0, m, 0, outFeatures);
            float[] factor = new float[outFeatures];
            for (int o = 0; o < outFeatures; o++) {
                factor[o] = m[o] / (float) Math.sqrt(squares[o]);
            }
            return new LowRankDelta(rank, rows, cols, transposed, coef, basis, null, null, scale, factor, null);
        }
        double[] row = new double[cols];
        for (int i = 0; i < rows; i++) {
            ElementCodec.decode(weight, weightType, Math.multiplyExact(i, cols), row, 0, cols);
            addTo(row, i, 0, cols);
            for (int j = 0; j < cols; j++) {
                squares[transposed ? j : i] += row[j] * row[j];
            }
        }
        double[] m = new double[outFeatures];
        ElementCodec.decode(magnitude, magnitudeType, 0, m, 0, outFeatures);
        double[] factor = new double[outFeatures];
        for (int o = 0; o < outFeatures; o++) {
            factor[o] = m[o] / Math.sqrt(squares[o]);
        }
        return new LowRankDelta(rank, rows, cols, transposed, null, null, coefD, basisD, scaleD, null, factor);
    }

    /** The number of columns of the weight seen as a matrix: a row segment lies within {@code [0, columns())}. */
    public int columns() {
        return cols;
    }

    /**
     * Adds the update to {@code w[c0 .. c0+n)}, which holds columns {@code c0 .. c0+n)} of weight
     * row {@code row} (so {@code w} has at least {@code c0 + n} elements, indexed by column); for a
     * DoRA update ({@link #withDora}) then rescales them.
     */
    public void addTo(float[] w, long row, int c0, int n) {
        float[] t = sum;
        int end = c0 + n;
        int cb = Math.toIntExact(row * rank);
        if (rank == 0) {
            Arrays.fill(t, c0, end, 0f);
        } else {
            float[] g = basis[0];
            float x = coef[cb];
            for (int j = c0; j < end; j++) {
                t[j] = x * g[j];
            }
        }
        int k = 1;
        for (; k + 3 < rank; k += 4) {
            float[] g0 = basis[k];
            float[] g1 = basis[k + 1];
            float[] g2 = basis[k + 2];
            float[] g3 = basis[k + 3];
            float x0 = coef[cb + k];
            float x1 = coef[cb + k + 1];
            float x2 = coef[cb + k + 2];
            float x3 = coef[cb + k + 3];
            for (int j = c0; j < end; j++) {
                t[j] = t[j] + x0 * g0[j] + x1 * g1[j] + x2 * g2[j] + x3 * g3[j];
            }
        }
        for (; k < rank; k++) {
            float[] g = basis[k];
            float x = coef[cb + k];
            for (int j = c0; j < end; j++) {
                t[j] += x * g[j];
            }
        }
        float s = scale;
        for (int j = c0; j < end; j++) {
            w[j] += s * t[j];
        }
        float[] f = doraFactor;
        if (f != null) {
            if (transposed) {
                for (int j = c0; j < end; j++) {
                    w[j] *= f[j];
                }
            } else {
                float fr = f[Math.toIntExact(row)];
                for (int j = c0; j < end; j++) {
                    w[j] *= fr;
                }
            }
        }
    }

    /** As {@link #addTo(float[], long, int, int)} in double precision (requires {@code inDouble}). */
    public void addTo(double[] w, long row, int c0, int n) {
        double[] t = sumD;
        int end = c0 + n;
        int cb = Math.toIntExact(row * rank);
        if (rank == 0) {
            Arrays.fill(t, c0, end, 0.0);
        } else {
            double[] g = basisD[0];
            double x = coefD[cb];
            for (int j = c0; j < end; j++) {
                t[j] = x * g[j];
            }
        }
        for (int k = 1; k < rank; k++) {
            double[] g = basisD[k];
            double x = coefD[cb + k];
            for (int j = c0; j < end; j++) {
                t[j] += x * g[j];
            }
        }
        double s = scaleD;
        for (int j = c0; j < end; j++) {
            w[j] += s * t[j];
        }
        double[] f = doraFactorD;
        if (f != null) {
            if (transposed) {
                for (int j = c0; j < end; j++) {
                    w[j] *= f[j];
                }
            } else {
                double fr = f[Math.toIntExact(row)];
                for (int j = c0; j < end; j++) {
                    w[j] *= fr;
                }
            }
        }
    }

    private static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = m[i * cols + j];
            }
        }
        return t;
    }

    private static double[] transpose(double[] m, int rows, int cols) {
        double[] t = new double[m.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = m[i * cols + j];
            }
        }
        return t;
    }
}
