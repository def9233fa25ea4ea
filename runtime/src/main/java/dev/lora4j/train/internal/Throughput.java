package dev.lora4j.train.internal;

/** Examples per second and time remaining, from the time spent in training steps only. */
public final class Throughput {

    private long nanos;
    private long examples;
    private long steps;

    /** Records one step. */
    public void record(long stepNanos, int stepExamples) {
        nanos += stepNanos;
        examples += stepExamples;
        steps++;
    }

    /** Examples per second so far (0 before any time has passed). */
    public double examplesPerSecond() {
        return nanos == 0 ? 0.0 : examples / (nanos / 1e9);
    }

    /** Seconds for {@code remainingSteps} more steps at the average step time so far. */
    public double secondsRemaining(long remainingSteps) {
        return steps == 0 ? Double.NaN : remainingSteps * (nanos / 1e9) / steps;
    }
}
