package dev.lora4j.io.internal;

import dev.lora4j.io.DType;
import dev.lora4j.io.TensorInfo;
import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.internal.BaseDecomposition;
import dev.lora4j.lora.internal.LowRankSvd;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

/**
 * The update of a PiSSA or OLoRA adapter on the original weight, for the model-free merge: the
 * adapter's factors apply to the residual {@code W − s·B₀·A₀}, so the merged weight is {@code W +
 * s·(B·A − B₀·A₀)}, written as the rank-{@code 2r} pair of PEFT's conversion ({@link
 * PlainLoraConversion}), {@code A' = [A; A₀]} and {@code B' = [B, −B₀]}, with {@code A₀}, {@code B₀}
 * recomputed from the base tensor as PEFT's {@code load_adapter} would ({@link BaseDecomposition})
 * and rounded to the base tensor's precision, as the in-model init keeps them. The pair is encoded
 * as F64 for {@link LowRankDelta}. Plain Java, as the rest of the model-free merge; the weight is
 * read whole, one tensor at a time (the decomposition needs all of it).
 */
public final class CheckpointDecomposition {

    /** The converted factors and their bytes. */
    public record Factors(TensorInfo a, ByteBuffer aBytes, TensorInfo b, ByteBuffer bBytes) {}

    private CheckpointDecomposition() {}

    /**
     * The pair {@code ([A; A₀], [B, −B₀])} of {@code update} on base tensor {@code weight}.
     *
     * @param a the adapter's A, {@code [r, in]}, and {@code b} its B, {@code [out, r]}
     */
    public static Factors of(MergePlan.Update update, TensorInfo weight, ByteBuffer weightBytes, TensorInfo a,
            ByteBuffer aBytes, TensorInfo b, ByteBuffer bBytes) {
        AdapterSettings spec = update.decomposition();
        if (spec == null) {
            throw new IllegalArgumentException("the update of " + update.pair().module() + " is not a PiSSA/OLoRA one");
        }
        double[][] stored = matrix(weightBytes, weight);
        double[][] outIn = update.transposed() ? LowRankSvd.transpose(stored) : stored;
        double[][][] initial = BaseDecomposition.factors(outIn, spec, new Random(0)); // exact: no randomness
        boolean narrow = weight.dtype() != DType.F64;
        double[][] a0 = narrow ? toFloat(initial[0]) : initial[0];
        double[][] b0 = narrow ? toFloat(initial[1]) : initial[1];
        double[][] av = matrix(aBytes, a);
        double[][] bv = matrix(bBytes, b);
        int r = av.length;
        int in = av[0].length;
        int out = bv.length;
        double[] stackedA = new double[2 * r * in];
        for (int i = 0; i < r; i++) {
            System.arraycopy(av[i], 0, stackedA, i * in, in);
            System.arraycopy(a0[i], 0, stackedA, (r + i) * in, in);
        }
        double[] stackedB = new double[out * 2 * r];
        for (int o = 0; o < out; o++) {
            for (int c = 0; c < r; c++) {
                stackedB[o * 2 * r + c] = bv[o][c];
                stackedB[o * 2 * r + r + c] = -b0[o][c];
            }
        }
        return new Factors(info(a.name(), 2L * r, in), encode(stackedA), info(b.name(), out, 2L * r), encode(stackedB));
    }

    /** A 2-d tensor's values, exactly, in plain Java (the model-free merge never loads ND4J). */
    private static double[][] matrix(ByteBuffer bytes, TensorInfo t) {
        int rows = Math.toIntExact(t.shape()[0]);
        int cols = Math.toIntExact(t.shape()[1]);
        double[][] out = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            ElementCodec.decode(bytes, t.dtype(), i * cols, out[i], 0, cols);
        }
        return out;
    }

    private static double[][] toFloat(double[][] m) {
        double[][] out = new double[m.length][m[0].length];
        for (int i = 0; i < m.length; i++) {
            for (int j = 0; j < m[0].length; j++) {
                out[i][j] = (float) m[i][j];
            }
        }
        return out;
    }

    private static TensorInfo info(String name, long rows, long cols) {
        return new TensorInfo(name + " with the init's factors", DType.F64, new long[] {rows, cols}, 0, rows * cols * 8);
    }

    private static ByteBuffer encode(double[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        ElementCodec.encode(values, 0, values.length, DType.F64, bytes);
        bytes.flip();
        return bytes;
    }
}
