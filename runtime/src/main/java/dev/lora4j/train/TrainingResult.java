package dev.lora4j.train;

import java.time.Duration;
import java.util.List;

/**
 * The outcome of {@link Trainer#fit}.
 *
 * @param steps the global steps taken, skipped ones included
 * @param losses the training loss of every step, in order ({@code NaN} or infinite where the loss
 *     was)
 * @param evaluations every validation pass, in order
 * @param monitor the monitored metric's name
 * @param bestMetric its best value ({@code NaN} without evaluations)
 * @param bestStep the step of the best value (0 without evaluations)
 * @param stopReason why training ended
 * @param nonFiniteEvents the steps whose update was not applied
 * @param wallTime the time {@code fit} took
 * @param workers the data-parallel workers it trained on ({@link TrainingConfig.Builder#workers})
 */
public record TrainingResult(
        long steps,
        List<Double> losses,
        List<Evaluation> evaluations,
        String monitor,
        double bestMetric,
        long bestStep,
        StopReason stopReason,
        List<NonFiniteEvent> nonFiniteEvents,
        Duration wallTime,
        int workers) implements java.io.Serializable {

    /** Copies the lists. */
    public TrainingResult {
        losses = List.copyOf(losses);
        evaluations = List.copyOf(evaluations);
        nonFiniteEvents = List.copyOf(nonFiniteEvents);
    }

    /** Whether early stopping ended training. */
    public boolean stoppedEarly() {
        return stopReason == StopReason.EARLY_STOPPING;
    }

    /** The last step's loss ({@code NaN} without steps). */
    public double finalLoss() {
        return losses.isEmpty() ? Double.NaN : losses.get(losses.size() - 1);
    }
}
