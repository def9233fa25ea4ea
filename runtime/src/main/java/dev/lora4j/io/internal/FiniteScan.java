package dev.lora4j.io.internal;

import dev.lora4j.io.DType;
import java.util.Arrays;

/**
 * Counts the values of one tensor that must not be written, chunk by chunk and without ND4J: NaN,
 * infinity, and for an F16 or BF16 destination the floats that would round to infinity. {@link
 * #problem()} then describes them as {@link FiniteCheck} does.
 */
public final class FiniteScan {

    /** The smallest magnitude that rounds to infinity as F16 (65504 + half an ulp). */
    public static final double F16_LIMIT = 65520.0;
    /** The smallest magnitude that rounds to infinity as BF16. */
    public static final double BF16_LIMIT = 3.3961775e38;

    private final long[] shape;
    private final DType target;
    private final double limit;
    private final float floatLimit;
    private long count;
    private long first = -1;
    private double firstValue;

    /**
     * A scan of a tensor of {@code shape} to be stored as {@code target} ({@code null}: in the
     * type of the values scanned).
     */
    public FiniteScan(long[] shape, DType target) {
        this.shape = shape.clone();
        this.target = target;
        this.limit = limit(target);
        float f = (float) limit;
        this.floatLimit = (double) f < limit ? Math.nextUp(f) : f;
    }

    /** The magnitude from which values stored as {@code target} are refused (infinity when only NaN and infinity are). */
    public static double limit(DType target) {
        return target == DType.F16 ? F16_LIMIT : target == DType.BF16 ? BF16_LIMIT : Double.POSITIVE_INFINITY;
    }

    /** Scans {@code values[off .. off+n)}, the tensor's elements from flat index {@code index}. */
    public void scan(float[] values, int off, int n, long index) {
        float lim = floatLimit;
        for (int i = 0; i < n; i++) {
            if (!(Math.abs(values[off + i]) < lim)) {
                record(values[off + i], index + i);
            }
        }
    }

    /** As {@link #scan(float[], int, int, long)} for doubles. */
    public void scan(double[] values, int off, int n, long index) {
        for (int i = 0; i < n; i++) {
            if (!(Math.abs(values[off + i]) < limit)) {
                record(values[off + i], index + i);
            }
        }
    }

    /** {@code null} when every scanned value may be written, else a phrase as {@link FiniteCheck#problem}. */
    public String problem() {
        return count == 0 ? null : describe(count, target, firstValue, shape, first);
    }

    /**
     * E.g. {@code "3 NaN or infinite values (first: NaN at [1, 0])"}, or {@code "... NaN, infinite
     * or F16-overflowing values ..."} when {@code target} is a half type.
     */
    public static String describe(long count, DType target, double firstValue, long[] shape, long first) {
        String what = limit(target) < Double.POSITIVE_INFINITY
                ? "NaN, infinite or " + target.safetensorsName() + "-overflowing values"
                : "NaN or infinite values";
        return count + " " + what + " (first: " + firstValue + " at " + Arrays.toString(index(shape, first)) + ")";
    }

    private void record(double value, long index) {
        if (count++ == 0) {
            first = index;
            firstValue = value;
        }
    }

    private static long[] index(long[] shape, long flat) {
        long[] out = new long[shape.length];
        long rest = flat;
        for (int d = shape.length - 1; d >= 0; d--) {
            out[d] = shape[d] == 0 ? 0 : rest % shape[d];
            rest = shape[d] == 0 ? 0 : rest / shape[d];
        }
        return out;
    }
}
