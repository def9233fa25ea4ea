package dev.lora4j.train;

/**
 * What the {@link Trainer} does when a step's loss or gradient norm is NaN or infinite. Either way
 * the non-finite update is never applied, and the event is recorded in
 * {@link TrainingResult#nonFiniteEvents()} with its step and, for a gradient, the first parameter
 * whose gradient holds a non-finite value.
 */
public enum NonFinitePolicy {
    /** Drop this step's gradients and go on with the next batch. */
    SKIP_STEP,
    /** End training (the result's {@link TrainingResult#stopReason()} is {@link StopReason#NON_FINITE}). */
    STOP
}
