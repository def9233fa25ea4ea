package dev.lora4j.nn;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;

/** Mean softmax cross-entropy with an ignored target value (PyTorch's default, -100). */
public final class CrossEntropyLoss {

    /** The target value PyTorch ignores by default. */
    public static final int DEFAULT_IGNORE_INDEX = -100;

    private final int ignoreIndex;

    /** Ignores targets equal to -100. */
    public CrossEntropyLoss() {
        this(DEFAULT_IGNORE_INDEX);
    }

    /** Ignores targets equal to {@code ignoreIndex}. */
    public CrossEntropyLoss(int ignoreIndex) {
        this.ignoreIndex = ignoreIndex;
    }

    /** The loss of {@code logits [..., classes]} against one target per row. */
    public Tensor compute(Tensor logits, int[] targets) {
        return Functional.crossEntropy(logits, targets, ignoreIndex);
    }
}
