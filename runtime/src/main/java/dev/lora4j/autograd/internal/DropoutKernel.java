package dev.lora4j.autograd.internal;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Inverted dropout on float32 in one pass each way over ND4J's native memory: forward draws the
 * mask, writes {@code x·mask} and keeps the mask as one byte per element (a quarter of a float
 * mask's memory); backward writes {@code g·mask}. The mask is the rule {@code nextDouble() >= p ?
 * 1/(1−p) : 0}, draw for draw, decided on the draws' 53-bit integers ({@code m·2⁻⁵³ ≥ p ⇔ m ≥
 * ⌈p·2⁵³⌉}); the products are the float products {@code x·(float) (1/(1−p))} or 0, exactly what a
 * float mask multiplied in gives.
 */
public final class DropoutKernel {

    private static final int CHUNK = 4096;

    private final INDArray kept;
    private final float keepScale;

    private DropoutKernel(INDArray kept, float keepScale) {
        this.kept = kept;
        this.keepScale = keepScale;
    }

    /**
     * Writes the dropout of {@code x} (float32, any layout) into {@code out} (plain float32 of x's
     * length) with masks drawn from {@code random}; returns the kernel, which holds the mask for
     * {@link #backward}.
     */
    public static DropoutKernel forward(INDArray x, INDArray out, double p, Random random) {
        INDArray in = Shapes.plain(x);
        int n = Math.toIntExact(in.length());
        long threshold = (long) Math.ceil(p * 0x1.0p53);
        float keep = (float) (1.0 / (1.0 - p));
        INDArray kept = Nd4j.createUninitialized(DataType.BYTE, Math.max(1, n));
        FloatBuffer source = in.data().asNioFloat();
        FloatBuffer target = out.data().asNioFloat();
        ByteBuffer mask = kept.data().asNio();
        long[] draws = new long[Math.min(Math.max(n, 1), CHUNK)];
        float[] values = new float[draws.length];
        byte[] bits = new byte[draws.length];
        UniformBlock block = random instanceof UniformBlock b ? b : null;
        for (int start = 0; start < n; start += draws.length) {
            int count = Math.min(draws.length, n - start);
            draw(random, block, draws, count);
            source.get(start, values, 0, count);
            for (int i = 0; i < count; i++) {
                int keepIt = (int) ((threshold - 1 - draws[i]) >>> 63); // 1 where draw ≥ threshold
                bits[i] = (byte) keepIt;
                values[i] *= keep * keepIt;
            }
            target.put(start, values, 0, count);
            mask.put(start, bits, 0, count);
        }
        return new DropoutKernel(kept, keep);
    }

    /** Writes {@code g·mask} (g float32, any layout, of the forward input's length) into {@code dx} (plain float32). */
    public void backward(INDArray g, INDArray dx) {
        INDArray in = Shapes.plain(g);
        int n = Math.toIntExact(in.length());
        FloatBuffer source = in.data().asNioFloat();
        FloatBuffer target = dx.data().asNioFloat();
        ByteBuffer mask = kept.data().asNio();
        float[] values = new float[Math.min(Math.max(n, 1), CHUNK)];
        byte[] bits = new byte[values.length];
        for (int start = 0; start < n; start += values.length) {
            int count = Math.min(values.length, n - start);
            source.get(start, values, 0, count);
            mask.get(start, bits, 0, count);
            for (int i = 0; i < count; i++) {
                values[i] *= keepScale * bits[i];
            }
            target.put(start, values, 0, count);
        }
    }

    /**
     * The next {@code count} draws of {@code random} as the integers {@code m} of {@code
     * nextDouble() = m·2⁻⁵³}: in one call from a {@link UniformBlock}, else one {@code nextDouble()}
     * each.
     */
    public static void draw(Random random, UniformBlock block, long[] into, int count) {
        if (block != null) {
            block.nextDoubleBits(into, 0, count);
        } else {
            for (int i = 0; i < count; i++) {
                into[i] = (long) (random.nextDouble() * 0x1.0p53); // exact: nextDouble() is m·2⁻⁵³
            }
        }
    }
}
