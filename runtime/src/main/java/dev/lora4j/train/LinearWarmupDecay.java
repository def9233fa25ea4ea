package dev.lora4j.train;

/**
 * Hugging Face's {@code get_linear_schedule_with_warmup}: for step s (0-based),
 * {@code peak·s/max(1, W)} while {@code s < W}, then
 * {@code peak·max(0, (T − s) / max(1, T − W))}.
 *
 * @param peak the rate reached at the end of warmup
 * @param warmupSteps W ≥ 0
 * @param totalSteps T ≥ W
 */
public record LinearWarmupDecay(double peak, long warmupSteps, long totalSteps) implements LearningRateSchedule {

    /** Validates. */
    public LinearWarmupDecay {
        Schedules.checkRate(peak);
        Schedules.checkSteps(warmupSteps, totalSteps);
    }

    @Override
    public double learningRate(long step) {
        if (step < warmupSteps) {
            return peak * step / Math.max(1, warmupSteps);
        }
        return peak * Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
    }
}
