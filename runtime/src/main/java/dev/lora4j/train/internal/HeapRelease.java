package dev.lora4j.train.internal;

import dev.lora4j.autograd.internal.NativeHeap;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * When a training run hands the C heap's free pages back to the system ({@link
 * NativeHeap#releaseFree()}): between steps, once at least {@link #INTERVAL} has passed since the
 * last release, and never so often that releasing takes more than {@link #MAX_SHARE} of the run
 * (a release was measured at ~26 ms in the main job; the interval grows to 100 times the last
 * one's cost if that is longer).
 */
public final class HeapRelease {

    /** The least time between two releases. */
    public static final Duration INTERVAL = Duration.ofSeconds(5);
    /** The largest share of the run's time spent releasing. */
    public static final double MAX_SHARE = 0.01;

    private final LongSupplier nanoClock;
    private final BooleanSupplier release;
    private long nextAt;

    /** Releases through {@link NativeHeap}, timed by {@link System#nanoTime()}; the first one after {@link #INTERVAL}. */
    public HeapRelease() {
        this(System::nanoTime, NativeHeap::releaseFree);
    }

    /** Releases with {@code release}, timed by {@code nanoClock} (for tests). */
    HeapRelease(LongSupplier nanoClock, BooleanSupplier release) {
        this.nanoClock = nanoClock;
        this.release = release;
        this.nextAt = nanoClock.getAsLong() + INTERVAL.toNanos();
    }

    /** Called between steps: releases when it is due. */
    public void afterStep() {
        long now = nanoClock.getAsLong();
        if (now - nextAt < 0) {
            return;
        }
        release.getAsBoolean();
        long end = nanoClock.getAsLong();
        long cost = end - now;
        nextAt = end + Math.max(INTERVAL.toNanos(), (long) (cost / MAX_SHARE));
    }
}
