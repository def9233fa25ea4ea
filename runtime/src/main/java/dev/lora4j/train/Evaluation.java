package dev.lora4j.train;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One validation pass.
 *
 * @param step the global step after which it ran
 * @param epoch the 1-based epoch
 * @param metrics every metric by name, in the order computed (copied)
 */
public record Evaluation(long step, int epoch, Map<String, Double> metrics)
        implements java.io.Serializable {

    /** Copies. */
    public Evaluation {
        metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
    }

    /** One metric's value. */
    public double metric(String name) {
        Double value = metrics.get(name);
        if (value == null) {
            throw new IllegalArgumentException("no metric '" + name + "' in " + metrics.keySet());
        }
        return value;
    }
}
