package dev.lora4j.autograd;

import dev.lora4j.autograd.internal.Gemm;
import dev.lora4j.autograd.internal.Shapes;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Multi-head attention over {@code [batch, time, features]} projections as one operation: the heads
 * are read as strided views of the projections and the per-head results are written straight into
 * {@code [batch, time, heads, headDim]} arrays, forward and backward, so no head is ever copied out
 * of or back into the projections' layout (the split-permute-merge version made four copies
 * forward and four backward per layer).
 */
final class AttentionOps {

    private AttentionOps() {}

    /** The attention of {@code [batch, time, features]} projections with a causal mask and a key mask, as asked. */
    static Tensor multiHead(Tensor q, Tensor k, Tensor v, int heads, boolean causal, @Nullable INDArray keyMask) {
        check(q, k, v, heads);
        return multiHead(q, k, v, heads,
                Functional.attentionMasks(q.size(1), k.size(1), q.dataType(), causal, keyMask));
    }

    /**
     * The attention of {@code [batch, time, features]} projections, already {@linkplain #check
     * checked}; {@code masks} are added to the scores.
     */
    static Tensor multiHead(Tensor q, Tensor k, Tensor v, int heads, INDArray[] masks) {
        long batch = q.size(0);
        long time = q.size(1);
        long keys = k.size(1);
        long features = q.size(2);
        long headDim = features / heads;
        INDArray qh = heads(q.value(), heads);
        INDArray kh = heads(k.value(), heads);
        INDArray vh = heads(v.value(), heads);
        double scale = 1.0 / Math.sqrt(headDim);
        // [batch, heads, time, keys]: the scaled scores, masked and normalised in place
        INDArray probabilities = Nd4j.createUninitialized(q.dataType(), batch, heads, time, keys);
        Gemm.into(qh, kh, probabilities, false, true, scale, 0.0);
        INDArray rows = SoftmaxOps.scaledMaskedSoftmaxRowsInPlace(probabilities, 1.0, masks);
        INDArray context = Nd4j.createUninitialized(q.dataType(), batch, time, heads, headDim);
        Gemm.into(probabilities, vh, context.permute(0, 2, 1, 3), false, false, 1.0, 0.0);
        return Tensor.result(context.reshape(batch, time, features), g -> {
            INDArray gh = heads(Shapes.plain(g).reshape('c', batch, time, features), heads);
            if (v.requiresGrad()) {
                INDArray dv = Nd4j.createUninitialized(v.dataType(), batch, keys, heads, headDim);
                Gemm.into(probabilities, gh, dv.permute(0, 2, 1, 3), true, false, 1.0, 0.0);
                v.accumulateGradient(dv.reshape(batch, keys, features));
            }
            if (!q.requiresGrad() && !k.requiresGrad()) {
                return;
            }
            INDArray dProbabilities = Gemm.product(gh, vh, false, true);
            // the scores' gradient before the scale, which the two products below apply
            INDArray dScores = SoftmaxOps.softmaxGradientInPlace(Shapes.asRows(dProbabilities), rows)
                    .reshape(probabilities.shape());
            if (q.requiresGrad()) {
                INDArray dq = Nd4j.createUninitialized(q.dataType(), batch, time, heads, headDim);
                Gemm.into(dScores, kh, dq.permute(0, 2, 1, 3), false, false, scale, 0.0);
                q.accumulateGradient(dq.reshape(batch, time, features));
            }
            if (k.requiresGrad()) {
                INDArray dk = Nd4j.createUninitialized(k.dataType(), batch, keys, heads, headDim);
                Gemm.into(dScores, qh, dk.permute(0, 2, 1, 3), true, false, scale, 0.0);
                k.accumulateGradient(dk.reshape(batch, keys, features));
            }
        }, q, k, v);
    }

    /** {@code [batch, time, features]} viewed as {@code [batch, heads, time, features / heads]}. */
    private static INDArray heads(INDArray x, int heads) {
        INDArray plain = Shapes.plain(x);
        return plain.reshape('c', plain.size(0), plain.size(1), heads, plain.size(2) / heads).permute(0, 2, 1, 3);
    }

    static void check(Tensor q, Tensor k, Tensor v, int heads) {
        if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3) {
            throw new IllegalArgumentException("multi-head attention takes [batch, time, features] projections, got "
                    + Arrays.toString(q.shape()) + ", " + Arrays.toString(k.shape()) + ", " + Arrays.toString(v.shape()));
        }
        if (heads < 1 || q.size(2) % heads != 0) {
            throw new IllegalArgumentException("multi-head attention: " + q.size(2) + " features do not split into "
                    + heads + " heads");
        }
        if (!Arrays.equals(k.shape(), v.shape()) || k.size(0) != q.size(0) || k.size(2) != q.size(2)) {
            throw new IllegalArgumentException("multi-head attention: keys " + Arrays.toString(k.shape())
                    + " and values " + Arrays.toString(v.shape()) + " do not fit queries " + Arrays.toString(q.shape()));
        }
    }
}
