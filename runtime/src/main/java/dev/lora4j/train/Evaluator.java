package dev.lora4j.train;

import java.util.List;
import java.util.Map;

/**
 * Computes extra named validation metrics (F1, perplexity, exact match, …). Called in evaluation
 * mode with grad mode off, after the built-in {@code val_loss} and {@code val_accuracy}; a metric
 * with the same name replaces the built-in one.
 *
 * @param <B> the batch type
 */
@FunctionalInterface
public interface Evaluator<B> {

    /** Metrics over the whole validation set, by name. */
    Map<String, Double> evaluate(List<B> validation);
}
