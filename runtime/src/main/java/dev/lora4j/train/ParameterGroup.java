package dev.lora4j.train;

import dev.lora4j.nn.Parameter;
import java.util.List;
import java.util.Objects;

/**
 * Parameters that share optimizer settings.
 *
 * @param name a label for messages and inspection, e.g. {@code "lora_B/decay"}
 * @param parameters the parameters, in a fixed order (copied)
 * @param learningRateMultiplier the factor applied to the optimizer's base learning rate for this
 *     group (1 for most; the LoRA+ ratio for {@code lora_B} matrices)
 * @param weightDecay the decay coefficient: decoupled in {@link AdamW}, an L2 term in {@link Sgd}
 */
public record ParameterGroup(String name, List<Parameter> parameters, double learningRateMultiplier, double weightDecay) {

    /** Validates and copies. */
    public ParameterGroup {
        Objects.requireNonNull(name, "name");
        parameters = List.copyOf(parameters);
        if (!(learningRateMultiplier > 0) || Double.isInfinite(learningRateMultiplier)) {
            throw new IllegalArgumentException("ParameterGroup '" + name
                    + "': learningRateMultiplier must be positive and finite, got " + learningRateMultiplier);
        }
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("ParameterGroup '" + name
                    + "': weightDecay must be >= 0 and finite, got " + weightDecay);
        }
    }

    /** A group at the base learning rate. */
    public static ParameterGroup of(String name, List<Parameter> parameters, double weightDecay) {
        return new ParameterGroup(name, parameters, 1.0, weightDecay);
    }
}
