package dev.lora4j.train.internal;

import dev.lora4j.nn.Parameter;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Per-parameter optimizer state, keyed by identity (two parameters with equal values are still two
 * parameters) and created on first use.
 *
 * @param <S> the state type
 */
public final class ParameterStates<S> {

    private final Map<Parameter, S> states = new IdentityHashMap<>();
    private final Function<Parameter, S> factory;

    /** States made by {@code factory} the first time a parameter asks. */
    public ParameterStates(Function<Parameter, S> factory) {
        this.factory = factory;
    }

    /** The parameter's state, created if absent. */
    public S get(Parameter parameter) {
        return states.computeIfAbsent(parameter, factory);
    }

    /** Whether the parameter has state. */
    public boolean contains(Parameter parameter) {
        return states.containsKey(parameter);
    }

    /**
     * Copies {@code value} into the state buffer {@code target}.
     *
     * @throws IllegalArgumentException when the shapes differ
     */
    public static void assignChecked(org.nd4j.linalg.api.ndarray.INDArray target,
            org.nd4j.linalg.api.ndarray.INDArray value, String name) {
        if (!java.util.Arrays.equals(target.shape(), value.shape())) {
            throw new IllegalArgumentException("optimizer buffer " + name + " has shape "
                    + java.util.Arrays.toString(value.shape()) + ", the parameter " + java.util.Arrays.toString(target.shape()));
        }
        target.assign(value);
    }

    /** The number of parameters with state. */
    public int size() {
        return states.size();
    }
}
