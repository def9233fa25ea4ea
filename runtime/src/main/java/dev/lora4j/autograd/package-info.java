/**
 * Reverse-mode automatic differentiation over ND4J arrays: a {@link dev.lora4j.autograd.Tensor}
 * records how it was computed, {@link dev.lora4j.autograd.Tensor#backward()} fills the gradients,
 * and {@link dev.lora4j.autograd.Functional} holds the operations with their backward passes
 * (linear layers with fused LoRA, convolutions, normalisations, attention, dropout, losses).
 *
 * <p>Null-marked (JSpecify): parameters and results are non-null unless annotated
 * {@code @Nullable} (an optional bias, a padding mask, a gradient not yet computed).
 */
@NullMarked
package dev.lora4j.autograd;

import org.jspecify.annotations.NullMarked;
