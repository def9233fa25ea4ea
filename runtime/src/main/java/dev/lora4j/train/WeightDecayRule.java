package dev.lora4j.train;

import dev.lora4j.nn.Parameter;

/**
 * Which parameters weight decay leaves alone. The default rule, as in BERT and the Hugging Face
 * {@code Trainer}: a parameter is <b>not decayed</b> when its name ends with {@code "bias"} or it
 * has at most one dimension (biases, LayerNorm scales and shifts); every other parameter (weight
 * matrices, embeddings, LoRA A and B) is decayed.
 */
@FunctionalInterface
public interface WeightDecayRule {

    /** The default: no decay for names ending in {@code bias} or parameters of rank ≤ 1. */
    WeightDecayRule DEFAULT = (name, parameter) -> !(name.endsWith("bias") || parameter.rank() <= 1);

    /** Decay everything. */
    WeightDecayRule ALL = (name, parameter) -> true;

    /** Whether the parameter named {@code name} is decayed. */
    boolean decays(String name, Parameter parameter);
}
