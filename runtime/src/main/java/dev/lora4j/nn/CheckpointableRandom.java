package dev.lora4j.nn;

import dev.lora4j.autograd.internal.UniformBlock;
import java.util.Random;

/**
 * A {@link Random} whose state can be read and restored, so a training checkpoint can hold the
 * position of every generator (batch shuffling, dropout masks) and a resumed run draws exactly
 * the numbers the uninterrupted run would have drawn.
 *
 * <p>It produces the same sequence as {@code new java.util.Random(seed)} for every method: it
 * implements the 48-bit linear congruential generator and the polar method of {@link
 * #nextGaussian()} exactly as {@link Random}'s specification states them, with the state in fields
 * it can expose ({@code java.util.Random} keeps its state private). Thread-safe like {@code Random}.
 *
 * <p>{@link #nextDoubleBits} draws a block of {@link #nextDouble()} values under one lock, which
 * is what dropout masks are made from.
 */
public class CheckpointableRandom extends Random implements UniformBlock {

    private static final long serialVersionUID = 1L;
    private static final long MULTIPLIER = 0x5DEECE66DL;
    private static final long ADDEND = 0xBL;
    private static final long MASK = (1L << 48) - 1;

    // no initializers: Random's constructor calls setSeed before this class's initializers would run
    private long state;
    private double nextNextGaussian;
    private boolean haveNextNextGaussian;

    /** A generator with the sequence of {@code new Random(seed)}. */
    public CheckpointableRandom(long seed) {
        super(seed);
    }

    /**
     * Everything that determines the generator's future output.
     *
     * @param seed the 48-bit LCG state
     * @param haveNextNextGaussian whether a second Gaussian from the last polar step is pending
     * @param nextNextGaussian that pending value
     */
    public record State(long seed, boolean haveNextNextGaussian, double nextNextGaussian) {}

    @Override
    public synchronized void setSeed(long seed) {
        state = (seed ^ MULTIPLIER) & MASK;
        haveNextNextGaussian = false;
    }

    @Override
    protected synchronized int next(int bits) {
        state = (state * MULTIPLIER + ADDEND) & MASK;
        return (int) (state >>> (48 - bits));
    }

    /**
     * Fills {@code into[from, to)} with exactly the values that as many {@link #nextDouble()} calls
     * would return, in order, each as the integer {@code m} of {@code nextDouble() = m·2⁻⁵³}, and
     * leaves the generator where those calls would: one lock for the block instead of two per
     * value. A subclass that overrides {@link #next} or {@link #nextDouble} gets its own methods
     * called instead (their values taken to 53 bits).
     */
    @Override
    public void nextDoubleBits(long[] into, int from, int to) {
        if (from < 0 || to > into.length || from > to) {
            throw new IndexOutOfBoundsException("[" + from + ", " + to + ") of " + into.length);
        }
        if (getClass() != CheckpointableRandom.class) {
            for (int i = from; i < to; i++) {
                into[i] = (long) (nextDouble() * 0x1.0p53);
            }
            return;
        }
        synchronized (this) {
            long s = state;
            for (int i = from; i < to; i++) {
                // nextDouble() = ((long) next(26) << 27) + next(27), times 2^-53
                s = (s * MULTIPLIER + ADDEND) & MASK;
                long high = s >>> (48 - 26);
                s = (s * MULTIPLIER + ADDEND) & MASK;
                long low = s >>> (48 - 27);
                into[i] = (high << 27) + low;
            }
            state = s;
        }
    }

    @Override
    public synchronized double nextGaussian() {
        if (haveNextNextGaussian) {
            haveNextNextGaussian = false;
            return nextNextGaussian;
        }
        double v1;
        double v2;
        double s;
        do {
            v1 = 2 * nextDouble() - 1;
            v2 = 2 * nextDouble() - 1;
            s = v1 * v1 + v2 * v2;
        } while (s >= 1 || s == 0);
        double multiplier = StrictMath.sqrt(-2 * StrictMath.log(s) / s);
        nextNextGaussian = v2 * multiplier;
        haveNextNextGaussian = true;
        return v1 * multiplier;
    }

    /** The current state. */
    public synchronized State state() {
        return new State(state, haveNextNextGaussian, nextNextGaussian);
    }

    /** Puts the generator back to {@code saved}: the following draws repeat those made after it was taken. */
    public synchronized void restore(State saved) {
        state = saved.seed() & MASK;
        haveNextNextGaussian = saved.haveNextNextGaussian();
        nextNextGaussian = saved.nextNextGaussian();
    }
}
