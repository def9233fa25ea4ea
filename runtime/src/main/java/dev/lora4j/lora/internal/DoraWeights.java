package dev.lora4j.lora.internal;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * DoRA's per-output-feature arithmetic on a weight matrix, in the weight's layout: {@code [out, in]}
 * (PyTorch's, output features are rows) or {@code [in, out]} (fan-in-fan-out, output features are
 * columns). PEFT's {@code get_weight_norm} takes the norm of {@code W + s·B·A} over the input
 * dimension of the {@code [out, in]} matrix, giving one value per output feature; merging scales
 * each output feature's weights by {@code m / norm}.
 */
public final class DoraWeights {

    private DoraWeights() {}

    /**
     * The L2 norm of each output feature's weights, {@code [out]}, in {@code w}'s dtype.
     *
     * @param outputsAreColumns whether {@code w} is {@code [in, out]}
     */
    public static INDArray norms(INDArray w, boolean outputsAreColumns) {
        requireMatrix(w);
        return w.norm2(outputsAreColumns ? 0 : 1).reshape(w.size(outputsAreColumns ? 1 : 0));
    }

    /** Multiplies each output feature's weights in {@code w} by {@code factor[feature]}, in place. */
    public static void scale(INDArray w, INDArray factor, boolean outputsAreColumns) {
        requireMatrix(w);
        if (outputsAreColumns) {
            w.muliRowVector(factor.reshape(1, factor.length()).castTo(w.dataType()));
        } else {
            w.muliColumnVector(factor.reshape(factor.length(), 1).castTo(w.dataType()));
        }
    }

    /** Divides each output feature's weights in {@code w} by {@code factor[feature]}, in place. */
    public static void unscale(INDArray w, INDArray factor, boolean outputsAreColumns) {
        requireMatrix(w);
        if (outputsAreColumns) {
            w.diviRowVector(factor.reshape(1, factor.length()).castTo(w.dataType()));
        } else {
            w.diviColumnVector(factor.reshape(factor.length(), 1).castTo(w.dataType()));
        }
    }

    private static void requireMatrix(INDArray w) {
        if (w.rank() != 2) {
            throw new IllegalArgumentException("DoRA works on a weight matrix, got shape " + Arrays.toString(w.shape()));
        }
    }
}
