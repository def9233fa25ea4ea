package dev.lora4j.train;

/**
 * The same rate at every step.
 *
 * @param learningRate non-negative and finite
 */
public record ConstantSchedule(double learningRate) implements LearningRateSchedule {

    /** Validates. */
    public ConstantSchedule {
        Schedules.checkRate(learningRate);
    }

    @Override
    public double learningRate(long step) {
        return learningRate;
    }
}
