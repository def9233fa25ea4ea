package dev.lora4j.autograd.internal;

import java.util.Arrays;
import java.util.Random;
import org.jspecify.annotations.Nullable;

/**
 * Dropout masks drawn per example, so that they do not depend on how a batch is split between
 * data-parallel workers. While open on a thread, every dropout of that thread's forward pass
 * draws its mask from a counter-based generator keyed by (seed, step, site, row): the site is the
 * dropout's position among the pass's dropouts (the same code runs in every worker, so the k-th
 * dropout is the same layer everywhere), and a tensor's rows are numbered globally across the
 * batch: a shard holding examples {@code [first, first + n)} of a tensor whose first dimension is
 * {@code n × k} numbers its rows from {@code first × k}. An element's value depends on nothing
 * else, so one worker and several draw the same masks, run after run, and a resumed run draws the
 * masks the uninterrupted one would have.
 */
public final class ExampleDropout implements AutoCloseable {

    private static final ThreadLocal<ExampleDropout> CURRENT = new ThreadLocal<>();
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private final long stepKey;
    private final long firstExample;
    private final int examples;
    private int sites;
    /** The example and position of each row of the pass's packed tensors ({@link #packedRows}), or null. */
    private int @Nullable [] packedExample;
    private int @Nullable [] packedPosition;

    private ExampleDropout(long seed, long step, long firstExample, int examples) {
        this.stepKey = mix(mix(seed ^ 0x6C6F7261346A4450L) + step * GOLDEN);
        this.firstExample = firstExample;
        this.examples = examples;
    }

    /**
     * Opens a context on the calling thread for one shard's forward pass.
     *
     * @param firstExample the global index, within the step's batch, of the shard's first example
     * @param examples the number of examples in the shard, ≥ 1
     */
    public static ExampleDropout open(long seed, long step, long firstExample, int examples) {
        if (examples < 1) {
            throw new IllegalArgumentException("a shard needs at least one example, got " + examples);
        }
        if (CURRENT.get() != null) {
            throw new IllegalStateException("per-example dropout is already open on " + Thread.currentThread().getName());
        }
        ExampleDropout context = new ExampleDropout(seed, step, firstExample, examples);
        CURRENT.set(context);
        return context;
    }

    /**
     * The generator for the next dropout of a tensor of {@code shape} on this thread, or {@code
     * null} when no context is open (the dropout then draws from its own generator).
     *
     * @throws IllegalStateException when the tensor's first dimension is not a multiple of the
     *     shard's example count, so its rows cannot be attributed to examples
     */
    public static Random next(long[] shape) {
        ExampleDropout context = CURRENT.get();
        return context == null ? null : context.generator(shape);
    }

    /**
     * Tells this thread's open context, if any, that tensors of the pass whose first dimension is
     * {@code example.length} hold one token a row, row {@code i} being the token at position {@code
     * position[i]} of example {@code example[i]} (both within the shard): their dropout then draws,
     * for each token, what the padded {@code [examples, time, ...]} layout draws for it. The latest
     * call holds for the rest of the pass.
     *
     * @throws IllegalStateException when {@code examples} is not the shard's example count
     */
    public static void packedRows(int examples, int[] example, int[] position) {
        ExampleDropout context = CURRENT.get();
        if (context == null) {
            return;
        }
        if (examples != context.examples) {
            throw new IllegalStateException("packed tokens of " + examples + " examples in a shard of "
                    + context.examples + " examples: per-example masks need the whole shard packed together");
        }
        context.packedExample = example;
        context.packedPosition = position;
    }

    private Random generator(long[] shape) {
        int site = sites++;
        long rows = shape.length == 0 ? 1 : shape[0];
        long length = 1;
        for (long d : shape) {
            length *= d;
        }
        if (packedExample != null && shape.length > 0 && rows == packedExample.length) {
            return new RowUniforms(mix(stepKey + site * GOLDEN), firstExample, rows == 0 ? 0 : length / rows,
                    packedExample, packedPosition);
        }
        if (rows % examples != 0) {
            throw new IllegalStateException("dropout on a tensor of shape " + Arrays.toString(shape)
                    + " in a shard of " + examples + " examples: per-example masks (data-parallel training) need the"
                    + " first dimension to hold the examples, a multiple of " + examples);
        }
        long rowsPerExample = rows / examples;
        long rowLength = rows == 0 ? 0 : length / rows;
        return new RowUniforms(mix(stepKey + site * GOLDEN), firstExample * rowsPerExample, rowLength, null, null);
    }

    @Override
    public void close() {
        if (CURRENT.get() == this) {
            CURRENT.remove();
        }
    }

    /** SplitMix64's finaliser: a bijective 64-bit mix. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * Uniform doubles in [0, 1), element by element in row-major order, each a hash of (site, row,
     * column); a packed tensor's row {@code i} is hashed as row {@code example[i]}, its columns from
     * {@code position[i] × rowLength} on, where the padded layout has that token.
     */
    private static final class RowUniforms extends Random implements UniformBlock {

        private static final long serialVersionUID = 1L;
        /**
         * {@code c × GOLDEN} for the columns of a run: {@code rowKey + (column + c)·GOLDEN} read as
         * {@code base + OFFSETS[c]} keeps the loop free of an int-to-long conversion of its index,
         * which stops C2 from vectorizing it.
         */
        private static final long[] OFFSETS = new long[1024];

        static {
            for (int c = 0; c < OFFSETS.length; c++) {
                OFFSETS[c] = c * GOLDEN;
            }
        }

        private final long siteKey;
        private final long firstRow;
        private final long rowLength;
        private final int @Nullable [] example;
        private final int @Nullable [] position;
        private long drawn;

        RowUniforms(long siteKey, long firstRow, long rowLength, int @Nullable [] example, int @Nullable [] position) {
            super(0);
            this.siteKey = siteKey;
            this.firstRow = firstRow;
            this.rowLength = rowLength;
            this.example = example;
            this.position = position;
        }

        @Override
        public void nextDoubleBits(long[] into, int from, int to) {
            // first each element's hash input (its row's key plus its column's offset), row by row,
            // then the hash over the whole block in one loop: C2 vectorizes both, and the long loop
            // ran about 1.8 times as fast as hashing row by row (rows of 384 elements)
            int i = from;
            while (i < to) {
                long row = drawn / rowLength;
                long column = drawn % rowLength;
                long keyRow = row;
                if (example != null) {
                    keyRow = example[(int) row];
                    column += position[(int) row] * rowLength;
                }
                long base = mix(siteKey + (firstRow + keyRow) * GOLDEN) + column * GOLDEN;
                int count = (int) Math.min(Math.min(to - i, rowLength - drawn % rowLength), OFFSETS.length);
                for (int c = 0; c < count; c++) {
                    into[i + c] = base + OFFSETS[c];
                }
                i += count;
                drawn += count;
            }
            for (int j = from; j < to; j++) {
                // mix(into[j]) written out, as a 53-bit draw
                long z = into[j];
                z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
                z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
                into[j] = (z ^ (z >>> 31)) >>> 11;
            }
        }

        @Override
        public double nextDouble() {
            long[] one = new long[1];
            nextDoubleBits(one, 0, 1);
            return one[0] * 0x1.0p-53;
        }

        @Override
        protected int next(int bits) {
            throw new UnsupportedOperationException("per-example dropout draws doubles only");
        }
    }
}
