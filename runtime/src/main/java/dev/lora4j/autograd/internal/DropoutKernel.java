package dev.lora4j.autograd.internal;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Inverted dropout on float32 over ND4J's native memory: forward draws the mask, keeps it as one
 * byte per element (1 kept, 0 dropped) for {@link #backward}, and writes {@code x·mask·1/(1−p)};
 * backward writes {@code g·mask·1/(1−p)}. Both products run in oneDNN's binary primitive where oneDNN
 * is in use ({@link OneDnnKernels#multiplyByMask}: it reads the bytes and applies the scale as it
 * multiplies), else in a Java loop. The mask is the rule {@code nextDouble() >= p}, draw for draw,
 * decided on the draws' 53-bit integers ({@code m·2⁻⁵³ ≥ p ⇔ m ≥ ⌈p·2⁵³⌉}); the products are the
 * float products {@code x·(float) (1/(1−p))} or {@code x·0}, the same either way.
 */
public final class DropoutKernel {

    private static final int CHUNK = 4096;
    /**
     * The Java arrays a thread's calls work through, a chunk at a time: made once per thread (36 KB
     * a call added up to ~80 MB of garbage over the main job).
     */
    private static final ThreadLocal<Chunk> CHUNKS = ThreadLocal.withInitial(Chunk::new);

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
        int n = Math.toIntExact(x.length());
        long threshold = (long) Math.ceil(p * 0x1.0p53);
        INDArray kept = Nd4j.createUninitialized(DataType.UBYTE, Math.max(1, n));
        ByteBuffer mask = kept.data().asNio();
        Chunk chunk = CHUNKS.get();
        long[] draws = chunk.draws;
        byte[] bits = chunk.bits;
        UniformBlock block = random instanceof UniformBlock b ? b : null;
        for (int start = 0; start < n; start += CHUNK) {
            int count = Math.min(CHUNK, n - start);
            draw(random, block, draws, count);
            for (int i = 0; i < count; i++) {
                bits[i] = (byte) ((threshold - 1 - draws[i]) >>> 63); // 1 where draw ≥ threshold
            }
            mask.put(start, bits, 0, count);
        }
        DropoutKernel kernel = new DropoutKernel(kept, (float) (1.0 / (1.0 - p)));
        kernel.multiply(x, out);
        return kernel;
    }

    /** Writes {@code g·mask} (g float32, any layout, of the forward input's length) into {@code dx} (plain float32). */
    public void backward(INDArray g, INDArray dx) {
        multiply(g, dx);
    }

    /** {@code out ← in·mask·keepScale}, in read in row-major order. */
    private void multiply(INDArray in, INDArray out) {
        INDArray plain = Shapes.plain(in);
        int n = Math.toIntExact(plain.length());
        if (n == 0 || OneDnnKernels.multiplyByMask(plain, kept, keepScale, out)) {
            return;
        }
        FloatBuffer source = plain.data().asNioFloat();
        FloatBuffer target = out.data().asNioFloat();
        ByteBuffer mask = kept.data().asNio();
        Chunk chunk = CHUNKS.get();
        float[] values = chunk.values;
        byte[] bits = chunk.bits;
        for (int start = 0; start < n; start += CHUNK) {
            int count = Math.min(CHUNK, n - start);
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

    /** One chunk's draws, mask bytes and values. */
    private static final class Chunk {
        final long[] draws = new long[CHUNK];
        final byte[] bits = new byte[CHUNK];
        final float[] values = new float[CHUNK];
    }
}
