package dev.lora4j.dsl;

import dev.lora4j.autograd.Tensor;

/**
 * The scalar training loss of one batch, computed with the model's own forward code: a mean over
 * the batch's examples. A Kotlin lambda fits as is ({@code loss { batch -> ... }}).
 *
 * @param <B> the batch type
 */
@FunctionalInterface
public interface BatchLoss<B> {

    /** The loss of {@code batch}, a scalar tensor connected to the model's trainable parameters. */
    Tensor loss(B batch);
}
