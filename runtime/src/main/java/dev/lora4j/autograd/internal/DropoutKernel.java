package dev.lora4j.autograd.internal;

import java.nio.FloatBuffer;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Inverted dropout on float32 over ND4J's native memory: forward draws the mask into a float
 * array of the input's length ({@code 1/(1−p)} or 0 per element), kept for {@link #backward}, and
 * writes {@code x·mask}; backward writes {@code g·mask}. Both products run as oneDNN's element-wise
 * product where oneDNN is in use ({@link OneDnnKernels#multiply}), else in a Java loop. The mask is
 * the rule {@code nextDouble() >= p ? 1/(1−p) : 0}, draw for draw, decided on the draws' 53-bit
 * integers ({@code m·2⁻⁵³ ≥ p ⇔ m ≥ ⌈p·2⁵³⌉}); the products are the float products {@code
 * x·(float) (1/(1−p))} or {@code x·0}, the same either way.
 */
public final class DropoutKernel {

    private static final int CHUNK = 4096;

    private final INDArray mask;

    private DropoutKernel(INDArray mask) {
        this.mask = mask;
    }

    /**
     * Writes the dropout of {@code x} (float32, any layout) into {@code out} (plain float32 of x's
     * length) with masks drawn from {@code random}; returns the kernel, which holds the mask for
     * {@link #backward}.
     */
    public static DropoutKernel forward(INDArray x, INDArray out, double p, Random random) {
        int n = Math.toIntExact(x.length());
        long threshold = (long) Math.ceil(p * 0x1.0p53);
        int keepBits = Float.floatToRawIntBits((float) (1.0 / (1.0 - p)));
        INDArray mask = Nd4j.createUninitialized(DataType.FLOAT, Math.max(1, n));
        FloatBuffer target = mask.data().asNioFloat();
        long[] draws = new long[Math.min(Math.max(n, 1), CHUNK)];
        float[] values = new float[draws.length];
        UniformBlock block = random instanceof UniformBlock b ? b : null;
        for (int start = 0; start < n; start += draws.length) {
            int count = Math.min(draws.length, n - start);
            draw(random, block, draws, count);
            for (int i = 0; i < count; i++) {
                // keep's bits where draw ≥ threshold, else +0: a mask of the sign of threshold − 1 − draw
                values[i] = Float.intBitsToFloat(keepBits & (int) ((threshold - 1 - draws[i]) >> 63));
            }
            target.put(start, values, 0, count);
        }
        DropoutKernel kernel = new DropoutKernel(mask);
        kernel.multiply(x, out);
        return kernel;
    }

    /** Writes {@code g·mask} (g float32, any layout, of the forward input's length) into {@code dx} (plain float32). */
    public void backward(INDArray g, INDArray dx) {
        multiply(g, dx);
    }

    /** {@code out ← in·mask}, in read in row-major order. */
    private void multiply(INDArray in, INDArray out) {
        INDArray plain = Shapes.plain(in);
        int n = Math.toIntExact(plain.length());
        if (n == 0 || OneDnnKernels.multiply(plain, mask, out)) {
            return;
        }
        FloatBuffer source = plain.data().asNioFloat();
        FloatBuffer factors = mask.data().asNioFloat();
        FloatBuffer target = out.data().asNioFloat();
        float[] values = new float[Math.min(n, CHUNK)];
        float[] scale = new float[values.length];
        for (int start = 0; start < n; start += values.length) {
            int count = Math.min(values.length, n - start);
            source.get(start, values, 0, count);
            factors.get(start, scale, 0, count);
            for (int i = 0; i < count; i++) {
                values[i] *= scale[i];
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
