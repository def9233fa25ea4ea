package dev.lora4j.autograd.internal;

/**
 * A generator that hands out a block of uniform doubles in one call, exactly the values the same
 * number of {@link java.util.Random#nextDouble()} calls would return, in order, but without a
 * lock and a virtual call per value. {@code Functional.dropout} draws its masks through it when
 * the generator offers it.
 */
public interface UniformBlock {

    /** Fills {@code into[from, to)} with the next {@code to − from} values of {@code nextDouble()}. */
    void nextDoubles(double[] into, int from, int to);
}
