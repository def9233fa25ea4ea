package dev.lora4j.io.internal;

import dev.lora4j.io.DType;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;

/**
 * Finds NaN and infinite values before they are written: weights that would poison every model
 * they are loaded or merged into. The common, all-finite case is one native reduction; only a bad
 * array is scanned for the first offending element.
 */
public final class FiniteCheck {

    /** The largest float that rounds to a finite F16 (65504 + half an ulp). */
    private static final double F16_LIMIT = 65520.0;
    /** The largest float that rounds to a finite BF16. */
    private static final double BF16_LIMIT = 3.3961775e38;

    private FiniteCheck() {}

    /**
     * {@code null} when every value of {@code array} is finite (also once stored as {@code
     * target}, which may be {@code null}: F16 overflows above 65504), else a phrase such as {@code "3
     * NaN or infinite values (first: NaN at [1, 0])"}. Integer arrays are always finite.
     */
    public static String problem(INDArray array, DType target) {
        if (array.length() == 0 || !array.dataType().isFPType()) {
            return null;
        }
        double limit = target == DType.F16 ? F16_LIMIT : target == DType.BF16 ? BF16_LIMIT : Double.POSITIVE_INFINITY;
        boolean bad = BooleanIndexing.or(array, Conditions.notFinite())
                || (limit < Double.POSITIVE_INFINITY && array.amaxNumber().doubleValue() >= limit);
        if (!bad) {
            return null;
        }
        INDArray flat = array.ravel();
        long count = 0;
        long first = -1;
        double firstValue = 0;
        for (long i = 0; i < flat.length(); i++) {
            double v = flat.getDouble(i);
            if (!Double.isFinite(v) || Math.abs(v) >= limit) {
                count++;
                if (first < 0) {
                    first = i;
                    firstValue = v;
                }
            }
        }
        String what = limit < Double.POSITIVE_INFINITY
                ? "NaN, infinite or " + target.safetensorsName() + "-overflowing values"
                : "NaN or infinite values";
        return count + " " + what + " (first: " + firstValue + " at " + Arrays.toString(index(array.shape(), first)) + ")";
    }

    /** {@link #problem(INDArray, DType)} for storage in the array's own type. */
    public static String problem(INDArray array) {
        return problem(array, null);
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
