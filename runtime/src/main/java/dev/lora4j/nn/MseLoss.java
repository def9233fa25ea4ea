package dev.lora4j.nn;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;

/** Mean squared error between predictions and targets of the same shape. */
public final class MseLoss {

    /** {@code mean((predictions − targets)²)}. */
    public Tensor compute(Tensor predictions, Tensor targets) {
        return Functional.mse(predictions, targets);
    }
}
