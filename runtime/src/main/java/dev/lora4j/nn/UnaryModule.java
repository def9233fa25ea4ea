package dev.lora4j.nn;

import dev.lora4j.autograd.Tensor;

/** A module with one tensor in and one tensor out, so that it can stand in a {@link Sequential}. */
@FunctionalInterface
public interface UnaryModule {
    Tensor forward(Tensor x);
}
