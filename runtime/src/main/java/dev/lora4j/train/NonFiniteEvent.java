package dev.lora4j.train;

import org.jspecify.annotations.Nullable;

/**
 * A step whose loss or gradient was NaN or infinite; its update was not applied.
 *
 * @param step the 1-based global step
 * @param epoch the 1-based epoch
 * @param loss the loss value (finite when the gradient was the problem)
 * @param gradientNorm the global gradient norm ({@code NaN} when the loss was the problem and no
 *     backward pass ran)
 * @param parameterName the first parameter, in {@code namedParameters()} order, whose gradient holds
 *     a non-finite value; {@code null} for a loss event, or when only the norm's sum overflowed
 */
public record NonFiniteEvent(long step, int epoch, double loss, double gradientNorm, @Nullable String parameterName)
        implements java.io.Serializable {

    /** Whether the loss itself was non-finite. */
    public boolean lossIsNonFinite() {
        return !Double.isFinite(loss);
    }

    /** A sentence naming the step and the culprit. */
    public String message() {
        String where = "step " + step + " (epoch " + epoch + "): ";
        if (lossIsNonFinite()) {
            return where + "loss is " + loss + "; update not applied";
        }
        return where + "gradient norm is " + gradientNorm + (parameterName != null
                ? "; first non-finite gradient in parameter '" + parameterName + "'"
                : "; every gradient entry is finite, their squared sum overflowed") + "; update not applied";
    }
}
