package dev.lora4j.nn;

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
 */
public class CheckpointableRandom extends Random {

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
