package dev.lora4j.io.internal;

import dev.lora4j.io.DType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;

/**
 * Finds NaN and infinite values before they are written: weights that would poison every model
 * they are loaded or merged into. The common, all-finite case is one native reduction; only a bad
 * array is scanned for the first offending element.
 */
public final class FiniteCheck {

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
        double limit = FiniteScan.limit(target);
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
        return FiniteScan.describe(count, target, firstValue, array.shape(), first);
    }

    /** {@link #problem(INDArray, DType)} for storage in the array's own type. */
    public static String problem(INDArray array) {
        return problem(array, null);
    }
}
