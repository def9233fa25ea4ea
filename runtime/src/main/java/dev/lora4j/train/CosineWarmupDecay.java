package dev.lora4j.train;

/**
 * Hugging Face's {@code get_cosine_schedule_with_warmup}: for step s (0-based),
 * {@code peak·s/max(1, W)} while {@code s < W}, then with
 * {@code progress = (s − W) / max(1, T − W)},
 * {@code peak·max(0, ½·(1 + cos(π·2·cycles·progress)))}.
 *
 * @param peak the rate reached at the end of warmup
 * @param warmupSteps W ≥ 0
 * @param totalSteps T ≥ W
 * @param cycles the number of cosine periods after warmup; 0.5 (the default) decays once to 0
 */
public record CosineWarmupDecay(double peak, long warmupSteps, long totalSteps, double cycles)
        implements LearningRateSchedule {

    /** Validates. */
    public CosineWarmupDecay {
        Schedules.checkRate(peak);
        Schedules.checkSteps(warmupSteps, totalSteps);
        if (!(cycles > 0) || Double.isInfinite(cycles)) {
            throw new IllegalArgumentException("cycles must be positive and finite, got " + cycles);
        }
    }

    @Override
    public double learningRate(long step) {
        if (step < warmupSteps) {
            return peak * step / Math.max(1, warmupSteps);
        }
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return peak * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * cycles * 2.0 * progress)));
    }
}
