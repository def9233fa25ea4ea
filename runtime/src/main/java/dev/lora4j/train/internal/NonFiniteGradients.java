package dev.lora4j.train.internal;

import dev.lora4j.nn.Parameter;
import java.util.Map;
import java.util.Optional;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;

/** Finds the parameter to blame for a non-finite gradient norm. */
public final class NonFiniteGradients {

    private NonFiniteGradients() {}

    /** The name of the first parameter, in map order, whose gradient holds a NaN or an infinity. */
    public static Optional<String> first(Map<String, Parameter> named) {
        for (Map.Entry<String, Parameter> e : named.entrySet()) {
            INDArray g = e.getValue().grad();
            if (g != null && BooleanIndexing.or(g, Conditions.notFinite())) {
                return Optional.of(e.getKey());
            }
        }
        return Optional.empty();
    }
}
