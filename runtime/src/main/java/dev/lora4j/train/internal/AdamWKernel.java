package dev.lora4j.train.internal;

import dev.lora4j.autograd.internal.Shapes;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One AdamW update of a float32 parameter in a single pass over its elements, instead of the
 * fourteen whole-array ND4J operations the formula takes one at a time (each a native call of
 * ~10 µs, which for LoRA's small factors costs more than the arithmetic). Every element goes
 * through the same float32 operations in the same order as those whole-array operations, so the
 * result is the same bit for bit.
 */
public final class AdamWKernel {

    private AdamWKernel() {}

    /**
     * {@code p ← p·keep}, {@code m ← β₁(m − g) + g}, {@code v ← β₂(v − g²) + g²}, {@code p ← p −
     * (m / (√v / correction2 + ε))·stepSize}, in place; returns false, having changed nothing,
     * unless all four arrays are plain float32 arrays of the same length.
     *
     * @param keep {@code 1 − lr·wd}, the fraction of the weight decay keeps (1 skips the decay)
     * @param correction2 {@code √(1 − β₂ᵗ)}
     * @param stepSize {@code lr / (1 − β₁ᵗ)}
     */
    public static boolean update(INDArray p, INDArray g, INDArray m, INDArray v, double keep, double beta1,
            double beta2, double correction2, double epsilon, double stepSize) {
        long n = p.length();
        for (INDArray a : new INDArray[] {p, g, m, v}) {
            if (a.dataType() != DataType.FLOAT || !Shapes.isPlain(a) || a.length() != n) {
                return false;
            }
        }
        FloatBuffer pb = p.data().asNioFloat();
        FloatBuffer gb = g.data().asNioFloat();
        FloatBuffer mb = m.data().asNioFloat();
        FloatBuffer vb = v.data().asNioFloat();
        float kp = (float) keep;
        float b1 = (float) beta1;
        float b2 = (float) beta2;
        float c2 = (float) correction2;
        float eps = (float) epsilon;
        float size = (float) stepSize;
        boolean decay = keep != 1.0;
        for (int i = 0; i < (int) n; i++) {
            float gi = gb.get(i);
            float pi = decay ? pb.get(i) * kp : pb.get(i);
            float mi = (mb.get(i) - gi) * b1 + gi;
            float sq = gi * gi;
            float vi = (vb.get(i) - sq) * b2 + sq;
            float denominator = (float) Math.sqrt(vi) / c2 + eps;
            mb.put(i, mi);
            vb.put(i, vi);
            pb.put(i, pi - (mi / denominator) * size);
        }
        return true;
    }
}
