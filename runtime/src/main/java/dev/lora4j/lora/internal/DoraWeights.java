package dev.lora4j.lora.internal;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastDivOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DoRA's per-output-feature arithmetic on a weight, in the weight's layout: the output features
 * are axis 0 ({@code [out, in]} as PyTorch stores a linear weight, {@code [out, in, kh, kw]} for a
 * convolution) or axis 1 ({@code [in, out]}: a fan-in-fan-out linear weight, an embedding table
 * {@code [vocabulary, dim]}). PEFT's {@code get_weight_norm} takes the norm of {@code W + s·ΔW}
 * over every other axis, one value per output feature; merging scales each output feature's weights
 * by {@code m / norm}.
 */
public final class DoraWeights {

    private DoraWeights() {}

    /**
     * The L2 norm of each output feature's weights, {@code [out]}, in {@code w}'s dtype.
     *
     * @param outputsAreColumns whether the output features are axis 1 of the matrix {@code w}
     *     rather than axis 0
     */
    public static INDArray norms(INDArray w, boolean outputsAreColumns) {
        int axis = axis(w, outputsAreColumns);
        int[] others = new int[w.rank() - 1];
        for (int d = 0, k = 0; d < w.rank(); d++) {
            if (d != axis) {
                others[k++] = d;
            }
        }
        return w.norm2(others).reshape(w.size(axis));
    }

    /** Multiplies each output feature's weights in {@code w} by {@code factor[feature]}, in place. */
    public static void scale(INDArray w, INDArray factor, boolean outputsAreColumns) {
        INDArray f = factor.reshape(factor.length()).castTo(w.dataType());
        Nd4j.getExecutioner().exec(new BroadcastMulOp(w, f, w, axis(w, outputsAreColumns)));
    }

    /** Divides each output feature's weights in {@code w} by {@code factor[feature]}, in place. */
    public static void unscale(INDArray w, INDArray factor, boolean outputsAreColumns) {
        INDArray f = factor.reshape(factor.length()).castTo(w.dataType());
        Nd4j.getExecutioner().exec(new BroadcastDivOp(w, f, w, axis(w, outputsAreColumns)));
    }

    private static int axis(INDArray w, boolean outputsAreColumns) {
        if (outputsAreColumns && w.rank() != 2) {
            throw new IllegalArgumentException("output features in the columns need a matrix, got rank " + w.rank());
        }
        return outputsAreColumns ? 1 : 0;
    }
}
