package dev.lora4j.train;

/**
 * The learning rate as a function of the step.
 *
 * <p>{@code step} counts the optimizer steps already taken, from 0: the first update uses
 * {@code learningRate(0)}. This matches Hugging Face's {@code LambdaLR} schedules, where
 * {@code scheduler.step()} follows each {@code optimizer.step()} — so with warmup the first update
 * has rate 0.
 */
@FunctionalInterface
public interface LearningRateSchedule {

    /** The base learning rate for the update after {@code step} updates (step ≥ 0). */
    double learningRate(long step);

    /** A constant rate. */
    static LearningRateSchedule constant(double learningRate) {
        return new ConstantSchedule(learningRate);
    }

    /** Linear warmup from 0, then linear decay to 0 at {@code totalSteps}. */
    static LearningRateSchedule linearWarmupDecay(double peak, long warmupSteps, long totalSteps) {
        return new LinearWarmupDecay(peak, warmupSteps, totalSteps);
    }

    /** Linear warmup from 0, then half a cosine down to 0 at {@code totalSteps}. */
    static LearningRateSchedule cosineWarmupDecay(double peak, long warmupSteps, long totalSteps) {
        return new CosineWarmupDecay(peak, warmupSteps, totalSteps, 0.5);
    }
}
