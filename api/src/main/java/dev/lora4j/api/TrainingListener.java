package dev.lora4j.api;

/**
 * Receives training progress. Every method has an empty default, so an implementation overrides
 * only what it needs; a lambda works for {@link #onStep}.
 */
@FunctionalInterface
public interface TrainingListener {

    /** Called once before the first step. */
    default void onStart(TrainingStart start) {}

    /** Called after every optimizer step (or skipped step). */
    void onStep(StepReport step);

    /** Called after each evaluation on the validation set. */
    default void onEvaluation(EvaluationReport evaluation) {}

    /** Called once when training ends, normally or through early stopping. */
    default void onFinish(TrainingEnd end) {}

    /** What is known before training starts. */
    record TrainingStart(long totalSteps, int epochs, long trainableParameters, long allParameters) {}

    /**
     * One step's figures.
     *
     * @param step 1-based global step
     * @param epoch 1-based epoch
     * @param loss the batch loss
     * @param learningRate the base learning rate used for this step
     * @param gradientNorm the global gradient norm before clipping ({@code NaN} when not computed)
     * @param examplesPerSecond throughput over the steps so far
     * @param totalSteps the planned number of steps
     * @param secondsRemaining the estimated time to the end
     */
    record StepReport(
            long step,
            int epoch,
            double loss,
            double learningRate,
            double gradientNorm,
            double examplesPerSecond,
            long totalSteps,
            double secondsRemaining) {}

    /**
     * One validation pass.
     *
     * @param step the global step after which it ran
     * @param metric the monitored metric's name
     * @param value the monitored metric's value
     * @param validationLoss the mean validation loss
     * @param improved whether this is the best value seen so far
     */
    record EvaluationReport(long step, String metric, double value, double validationLoss, boolean improved) {}

    /**
     * How training ended.
     *
     * @param steps the steps taken
     * @param stoppedEarly whether early stopping ended it
     * @param bestMetric the best monitored value seen ({@code NaN} without validation)
     * @param bestStep the step at which it was seen
     */
    record TrainingEnd(long steps, boolean stoppedEarly, double bestMetric, long bestStep) {}
}
