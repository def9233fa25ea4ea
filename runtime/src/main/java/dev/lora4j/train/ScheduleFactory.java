package dev.lora4j.train;

/**
 * Makes the {@link LearningRateSchedule} for a run once its length is known: the {@link Trainer}
 * calls it with the configured peak rate and warmup and the planned number of steps. Bind your own
 * in Guice to change the schedule.
 */
@FunctionalInterface
public interface ScheduleFactory {

    /** Linear warmup then linear decay to 0 (the Hugging Face {@code Trainer} default). */
    ScheduleFactory LINEAR = LearningRateSchedule::linearWarmupDecay;

    /** Linear warmup then cosine decay to 0. */
    ScheduleFactory COSINE = LearningRateSchedule::cosineWarmupDecay;

    /** The peak rate throughout; warmup is ignored. */
    ScheduleFactory CONSTANT = (peak, warmupSteps, totalSteps) -> LearningRateSchedule.constant(peak);

    /**
     * The schedule for a run.
     *
     * @param learningRate the configured (peak) rate
     * @param warmupSteps the configured warmup, already capped at {@code totalSteps}
     * @param totalSteps the planned number of steps
     */
    LearningRateSchedule create(double learningRate, long warmupSteps, long totalSteps);
}
