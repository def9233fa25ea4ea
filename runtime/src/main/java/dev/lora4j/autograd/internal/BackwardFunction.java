package dev.lora4j.autograd.internal;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Propagates the gradient of one recorded operation to its inputs. Implementations call
 * {@code accumulateGradient} on the inputs that require a gradient and skip the others.
 */
@FunctionalInterface
public interface BackwardFunction {
    void propagate(INDArray outputGradient);
}
