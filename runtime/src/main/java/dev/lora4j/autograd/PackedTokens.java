package dev.lora4j.autograd;

import dev.lora4j.autograd.internal.ExampleDropout;
import dev.lora4j.autograd.internal.Shapes;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Which positions of a padded {@code [batch, time]} batch a transformer computes, and how their rows
 * are laid out. {@link #realTokens} keeps only the tokens an attention mask marks real and packs
 * them into {@code [tokens, features]} tensors, so that every token-wise layer (projections, layer
 * norms, feed-forward blocks, dropout) does no work for padding; {@link #multiHeadAttention}
 * unpacks its projections into the padded layout, masks the padding as keys and packs its result.
 * {@link #everyPosition} keeps the padded {@code [batch, time, features]} layout and computes every
 * position, padding included, as Hugging Face's models do.
 *
 * <p>Packing changes no real token's value: padding never reaches a real token (it is masked out
 * of attention, the only place tokens meet). Inside a data-parallel step a packed tensor's dropout
 * draws, for each real token, the mask the padded layout would have drawn for it.
 *
 * <p>A packing belongs to one forward pass: it caches the pass's attention mask.
 */
public final class PackedTokens {

    private final long batch;
    private final long time;
    private final @Nullable INDArray attentionMask;
    /** For a packed layout, the example and the position of each packed row; null for every position. */
    private final int @Nullable [] exampleOfRow;
    private final int @Nullable [] positionOfRow;
    /** Runs of consecutive real tokens: the first packed row, the first padded row, the length. */
    private final long[] runPacked;
    private final long[] runPadded;
    private final long[] runLength;
    /** Runs of padding, between and after the real tokens: the first padded row, the length. */
    private final long[] gapPadded;
    private final long[] gapLength;
    private final Map<DataType, INDArray> paddingMasks = new EnumMap<>(DataType.class);

    private PackedTokens(long batch, long time, @Nullable INDArray attentionMask, int @Nullable [] exampleOfRow,
            int @Nullable [] positionOfRow, long[][] runs) {
        this.batch = batch;
        this.time = time;
        this.attentionMask = attentionMask;
        this.exampleOfRow = exampleOfRow;
        this.positionOfRow = positionOfRow;
        this.runPacked = runs[0];
        this.runPadded = runs[1];
        this.runLength = runs[2];
        long[][] gaps = gaps(runPadded, runLength, batch * time);
        this.gapPadded = gaps[0];
        this.gapLength = gaps[1];
    }

    /** The padded rows not in any run, as runs of their own. */
    private static long[][] gaps(long[] runStart, long[] runLength, long rows) {
        long[][] gaps = new long[2][runStart.length + 1];
        int count = 0;
        long next = 0;
        for (int r = 0; r <= runStart.length; r++) {
            long start = r < runStart.length ? runStart[r] : rows;
            if (start > next) {
                gaps[0][count] = next;
                gaps[1][count] = start - next;
                count++;
            }
            next = r < runStart.length ? start + runLength[r] : rows;
        }
        return new long[][] {Arrays.copyOf(gaps[0], count), Arrays.copyOf(gaps[1], count)};
    }

    /**
     * The real tokens of a padded batch, packed: the mask's ones in row-major order (a right-padded
     * batch keeps each sentence's tokens together). Inside a data-parallel step, the step's dropout
     * draws this batch's masks per token from here on.
     *
     * @param attentionMask {@code [batch, time]} of 0 (padding) and 1 (real token), any numeric type
     * @throws IllegalArgumentException when the mask is not two-dimensional or holds another value,
     *     naming the first such position
     */
    public static PackedTokens realTokens(INDArray attentionMask) {
        if (attentionMask.rank() != 2) {
            throw new IllegalArgumentException("an attention mask is [batch, time], got "
                    + Arrays.toString(attentionMask.shape()));
        }
        int batch = Math.toIntExact(attentionMask.size(0));
        int time = Math.toIntExact(attentionMask.size(1));
        double[] values = attentionMask.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        int count = 0;
        for (int i = 0; i < values.length; i++) {
            if (values[i] != 0 && values[i] != 1) {
                throw new IllegalArgumentException("attention mask holds " + values[i] + " at [" + i / time + ", "
                        + i % time + "]; it must hold 1 for real tokens and 0 for padding");
            }
            count += (int) values[i];
        }
        int[] example = new int[count];
        int[] position = new int[count];
        long[][] runs = new long[3][count];
        int row = 0;
        int run = -1;
        for (int e = 0; e < batch; e++) {
            for (int t = 0; t < time; t++) {
                if (values[e * time + t] == 0) {
                    continue;
                }
                example[row] = e;
                position[row] = t;
                if (run < 0 || t == 0 || values[e * time + t - 1] == 0) {
                    run++;
                    runs[0][run] = row;
                    runs[1][run] = (long) e * time + t;
                }
                runs[2][run]++;
                row++;
            }
        }
        for (int i = 0; i < 3; i++) {
            runs[i] = Arrays.copyOf(runs[i], run + 1);
        }
        ExampleDropout.packedRows(batch, example, position);
        return new PackedTokens(batch, time, attentionMask, example, position, runs);
    }

    /**
     * Every position of a {@code [batch, time]} batch, padding included, in the padded layout:
     * tensors stay {@code [batch, time, features]} and {@link #pack}, {@link #unpack} return them
     * as they are.
     *
     * @param attentionMask {@code [batch, time]}, 1 for real tokens and 0 for padding, masked as
     *     keys in attention; {@code null} when nothing is padded
     */
    public static PackedTokens everyPosition(long batch, long time, @Nullable INDArray attentionMask) {
        if (attentionMask != null && (attentionMask.rank() != 2 || attentionMask.size(0) != batch
                || attentionMask.size(1) != time)) {
            throw new IllegalArgumentException("attention mask " + Arrays.toString(attentionMask.shape())
                    + " does not match a batch of " + batch + " x " + time + " positions");
        }
        return new PackedTokens(batch, time, attentionMask, null, null, new long[3][0]);
    }

    /** Whether tensors are packed {@code [tokens, features]} (else {@code [batch, time, features]}). */
    public boolean isPacked() {
        return exampleOfRow != null;
    }

    /** Sentences in the batch. */
    public long batch() {
        return batch;
    }

    /** Positions per sentence, padding included. */
    public long time() {
        return time;
    }

    /** The positions computed: the real tokens when packed, else {@code batch × time}. */
    public long count() {
        return exampleOfRow != null ? exampleOfRow.length : batch * time;
    }

    /**
     * The entries of a {@code [batch, time]} array (token ids, token types) at the computed
     * positions: {@code [tokens]} when packed, else the array itself.
     */
    public INDArray perToken(INDArray byPosition) {
        if (byPosition.rank() != 2 || byPosition.size(0) != batch || byPosition.size(1) != time) {
            throw new IllegalArgumentException("expected a [" + batch + ", " + time + "] array, got "
                    + Arrays.toString(byPosition.shape()));
        }
        if (exampleOfRow == null) {
            return byPosition;
        }
        INDArray plain = Shapes.plain(byPosition);
        INDArray packed = Nd4j.createUninitialized(plain.dataType(), exampleOfRow.length);
        copyRuns(plain, packed, 1, true);
        return packed;
    }

    /** The position of each computed token in its sentence, int32: {@code [tokens]} or {@code [batch, time]}. */
    public INDArray positions() {
        if (positionOfRow != null) {
            return Nd4j.createFromArray(positionOfRow.clone());
        }
        return Nd4j.arange(time).castTo(DataType.INT32).reshape(1, time).repeat(0, batch);
    }

    /**
     * {@code [batch, time, features]} to the computed rows, {@code [tokens, features]} when packed;
     * the gradient goes back to the kept positions.
     */
    public Tensor pack(Tensor padded) {
        if (exampleOfRow == null) {
            return padded;
        }
        if (padded.rank() != 3 || padded.size(0) != batch || padded.size(1) != time) {
            throw new IllegalArgumentException("pack takes [" + batch + ", " + time + ", features], got "
                    + Arrays.toString(padded.shape()));
        }
        long features = padded.size(2);
        return Tensor.result(gather(padded.value(), features), g -> padded.accumulateGradient(scatter(g, features)),
                padded);
    }

    /**
     * Computed rows back to {@code [batch, time, features]}, zeros at the positions not computed;
     * the gradient of those positions is dropped.
     */
    public Tensor unpack(Tensor rows) {
        if (exampleOfRow == null) {
            return rows;
        }
        if (rows.rank() != 2 || rows.size(0) != exampleOfRow.length) {
            throw new IllegalArgumentException("unpack takes [" + exampleOfRow.length + ", features], got "
                    + Arrays.toString(rows.shape()));
        }
        long features = rows.size(1);
        return Tensor.result(scatter(rows.value(), features), g -> rows.accumulateGradient(gather(g, features)), rows);
    }

    /**
     * {@link Functional#multiHeadAttention(Tensor, Tensor, Tensor, int, boolean, INDArray) Multi-head
     * attention} over these positions' projections: packed {@code [tokens, features]} ones are
     * unpacked into the padded layout, attended with the padding masked as keys, and the result
     * packed again; padded {@code [batch, time, features]} ones are attended as they are. The
     * padding mask is made once for all the layers that attend over these tokens.
     *
     * @param causal whether a position may only attend to positions at or before it
     */
    public Tensor multiHeadAttention(Tensor q, Tensor k, Tensor v, int heads, boolean causal) {
        INDArray[] masks = Functional.maskList(time, time, q.dataType(), causal, paddingMask(q.dataType()));
        Tensor q3 = unpack(q);
        Tensor k3 = unpack(k);
        Tensor v3 = unpack(v);
        AttentionOps.check(q3, k3, v3, heads);
        if (q3.size(0) != batch || q3.size(1) != time || k3.size(1) != time) {
            throw new IllegalArgumentException("multi-head attention over " + batch + " x " + time
                    + " positions got projections " + Arrays.toString(q3.shape()) + ", " + Arrays.toString(k3.shape()));
        }
        return pack(AttentionOps.multiHead(q3, k3, v3, heads, masks));
    }

    /** Attention's additive padding mask {@code [batch, 1, 1, time]}, made once per type; null when nothing is padded. */
    private @Nullable INDArray paddingMask(DataType type) {
        if (attentionMask == null) {
            return null;
        }
        return paddingMasks.computeIfAbsent(type, t -> Functional.paddingMask(attentionMask, t));
    }

    private INDArray gather(INDArray padded, long features) {
        INDArray plain = Shapes.plain(padded);
        INDArray packed = Nd4j.createUninitialized(plain.dataType(), exampleOfRow.length, features);
        copyRuns(plain, packed, features, true);
        return packed;
    }

    private INDArray scatter(INDArray packed, long features) {
        INDArray plain = Shapes.plain(packed);
        INDArray padded = Nd4j.createUninitialized(plain.dataType(), batch, time, features);
        copyRuns(plain, padded, features, false);
        long bytes = plain.dataType().width() * features;
        BytePointer target = new BytePointer(padded.data().addressPointer());
        for (int g = 0; g < gapLength.length; g++) {
            Pointer.memset(target.position(gapPadded[g] * bytes), 0, gapLength[g] * bytes);
        }
        return padded;
    }

    /** Copies each run of {@code width} elements a row between the padded and the packed layout, both plain. */
    private void copyRuns(INDArray from, INDArray to, long width, boolean toPacked) {
        long bytes = from.dataType().width() * width;
        Pointer source = from.data().addressPointer();
        Pointer target = to.data().addressPointer();
        BytePointer src = new BytePointer(source);
        BytePointer dst = new BytePointer(target);
        for (int r = 0; r < runLength.length; r++) {
            long fromRow = toPacked ? runPadded[r] : runPacked[r];
            long toRow = toPacked ? runPacked[r] : runPadded[r];
            Pointer.memcpy(dst.position(toRow * bytes), src.position(fromRow * bytes), runLength[r] * bytes);
        }
    }
}
