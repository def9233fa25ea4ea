package dev.lora4j.nn;

import dev.lora4j.autograd.Tensor;
import java.util.function.UnaryOperator;

/** An element-wise non-linearity as a module, for use in a {@link Sequential}. */
public final class Activation extends Module implements UnaryModule {

    private final String name;
    private final transient UnaryOperator<Tensor> function;

    private Activation(String name, UnaryOperator<Tensor> function) {
        this.name = name;
        this.function = function;
    }

    /** {@code max(0, x)}. */
    public static Activation relu() {
        return new Activation("ReLU", Tensor::relu);
    }

    /** The exact (erf) GELU. */
    public static Activation gelu() {
        return new Activation("GELU", Tensor::gelu);
    }

    /** The hyperbolic tangent. */
    public static Activation tanh() {
        return new Activation("Tanh", Tensor::tanh);
    }

    @Override
    public Tensor forward(Tensor x) {
        return function.apply(x);
    }

    @Override
    public String toString() {
        return name;
    }
}
