package dev.lora4j.train.internal;

import dev.lora4j.train.MetricGoal;

/**
 * Follows the monitored metric across evaluations: the best value and its step, and how many
 * evaluations in a row failed to improve on it (for early stopping).
 */
public final class BestMetricTracker {

    private final MetricGoal goal;
    private final double minDelta;
    private double best = Double.NaN;
    private long bestStep;
    private int evaluationsWithoutImprovement;

    /** A tracker that has seen nothing. */
    public BestMetricTracker(MetricGoal goal, double minDelta) {
        this.goal = goal;
        this.minDelta = minDelta;
    }

    /** Records the value seen at {@code step}; returns whether it is a new best. */
    public boolean record(double value, long step) {
        if (goal.improves(value, best, minDelta)) {
            best = value;
            bestStep = step;
            evaluationsWithoutImprovement = 0;
            return true;
        }
        evaluationsWithoutImprovement++;
        return false;
    }

    /** Whether {@code patience} evaluations in a row brought no improvement. */
    public boolean exhausted(int patience) {
        return patience > 0 && evaluationsWithoutImprovement >= patience;
    }

    /** The best value ({@code NaN} before any). */
    public double best() {
        return best;
    }

    /** The step of the best value (0 before any). */
    public long bestStep() {
        return bestStep;
    }

    /** Evaluations in a row without improvement. */
    public int evaluationsWithoutImprovement() {
        return evaluationsWithoutImprovement;
    }

    /** Puts back the state of a checkpoint. */
    public void restore(double best, long bestStep, int evaluationsWithoutImprovement) {
        this.best = best;
        this.bestStep = bestStep;
        this.evaluationsWithoutImprovement = evaluationsWithoutImprovement;
    }
}
