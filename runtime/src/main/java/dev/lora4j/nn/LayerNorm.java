package dev.lora4j.nn;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import org.nd4j.linalg.factory.Nd4j;

/** Layer normalisation over the last dimension, with a learned scale and shift. */
public class LayerNorm extends Module implements UnaryModule {

    protected final Parameter weight;
    protected final Parameter bias;
    protected final double epsilon;

    /** Scale ones, shift zeros, epsilon 1e-5 (PyTorch's default). */
    public LayerNorm(long dim) {
        this(dim, 1e-5);
    }

    /** Scale ones, shift zeros. */
    public LayerNorm(long dim, double epsilon) {
        this.weight = new Parameter(Nd4j.ones(Init.floatType(), dim));
        this.bias = new Parameter(Nd4j.zeros(Init.floatType(), dim));
        this.epsilon = epsilon;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.layerNorm(x, weight, bias, epsilon);
    }

    /** The scale γ. */
    public Parameter weight() {
        return weight;
    }

    /** The shift β. */
    public Parameter bias() {
        return bias;
    }
}
