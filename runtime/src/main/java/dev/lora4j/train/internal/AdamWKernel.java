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
 * result is the same bit for bit. The pass copies a chunk of each array onto the Java heap at a
 * time ({@link Chunk}), where the update loop compiles to vector instructions.
 */
public final class AdamWKernel {

    private static final int CHUNK = 1024;
    private static final ThreadLocal<Chunk> CHUNKS = ThreadLocal.withInitial(Chunk::new);

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
        Chunk chunk = CHUNKS.get();
        for (int start = 0; start < (int) n; start += CHUNK) {
            int count = Math.min(CHUNK, (int) n - start);
            pb.get(start, chunk.p, 0, count);
            gb.get(start, chunk.g, 0, count);
            mb.get(start, chunk.m, 0, count);
            vb.get(start, chunk.v, 0, count);
            chunk.update(count, keep != 1.0, (float) keep, (float) beta1, (float) beta2, (float) correction2, (float) epsilon,
                    (float) stepSize);
            pb.put(start, chunk.p, 0, count);
            mb.put(start, chunk.m, 0, count);
            vb.put(start, chunk.v, 0, count);
        }
        return true;
    }

    /**
     * A chunk of the four arrays on the Java heap, made once per thread: loops over Java arrays
     * compile to vector instructions, element-by-element calls on the native buffers do not
     * (measured on 25 arrays of 3 072 elements, one thread: 13 ns an element through the buffers,
     * 1.7 ns through the chunks).
     */
    private static final class Chunk {
        final float[] p = new float[CHUNK];
        final float[] g = new float[CHUNK];
        final float[] m = new float[CHUNK];
        final float[] v = new float[CHUNK];

        void update(int count, boolean decay, float keep, float beta1, float beta2, float correction2, float epsilon,
                float stepSize) {
            if (decay) {
                for (int i = 0; i < count; i++) {
                    p[i] = p[i] * keep;
                }
            }
            for (int i = 0; i < count; i++) {
                float gi = g[i];
                float mi = (m[i] - gi) * beta1 + gi;
                float sq = gi * gi;
                float vi = (v[i] - sq) * beta2 + sq;
                float denominator = (float) Math.sqrt(vi) / correction2 + epsilon;
                m[i] = mi;
                v[i] = vi;
                p[i] = p[i] - (mi / denominator) * stepSize;
            }
        }
    }
}
