package dev.lora4j.train;

/** Argument checks shared by the schedules. */
final class Schedules {

    private Schedules() {}

    static void checkRate(double rate) {
        if (!(rate >= 0) || Double.isInfinite(rate)) {
            throw new IllegalArgumentException("learning rate must be >= 0 and finite, got " + rate);
        }
    }

    static void checkSteps(long warmupSteps, long totalSteps) {
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warmupSteps must be >= 0, got " + warmupSteps);
        }
        if (totalSteps < warmupSteps) {
            throw new IllegalArgumentException("totalSteps (" + totalSteps + ") must be >= warmupSteps (" + warmupSteps + ")");
        }
    }
}
