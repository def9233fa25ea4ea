package dev.lora4j.train;

/** Whether a monitored metric improves by going down (loss) or up (accuracy). */
public enum MetricGoal {
    /** Lower is better. */
    MINIMIZE,
    /** Higher is better. */
    MAXIMIZE;

    /**
     * Whether {@code value} beats {@code best} by more than {@code minDelta}. Any number beats a
     * NaN best (nothing seen yet); a NaN value never improves.
     */
    public boolean improves(double value, double best, double minDelta) {
        if (Double.isNaN(value)) {
            return false;
        }
        if (Double.isNaN(best)) {
            return true;
        }
        return this == MINIMIZE ? value < best - minDelta : value > best + minDelta;
    }
}
