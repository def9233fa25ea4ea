package dev.lora4j.train;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Classifies a validation batch, so that the {@link Trainer} can report
 * {@link TrainingConfig#VAL_ACCURACY accuracy}: the predicted class of a row is the arg-max of its
 * logits. Called in evaluation mode with grad mode off.
 *
 * @param <B> the batch type
 */
@FunctionalInterface
public interface Predictor<B> {

    /** The logits and targets of one batch. */
    Prediction predict(B batch);

    /**
     * Logits {@code [..., classes]} and one target class per row (all dimensions but the last);
     * rows whose target is negative (such as the ignore index -100) are not counted.
     */
    record Prediction(INDArray logits, int[] targets) {}
}
