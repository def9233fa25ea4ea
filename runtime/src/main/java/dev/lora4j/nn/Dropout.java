package dev.lora4j.nn;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import java.util.Random;

/** Inverted dropout, active only in training mode. */
public class Dropout extends Module implements UnaryModule {

    private final double probability;
    private final transient Random random;

    /** Drops with probability p, drawing from the shared generator in {@link Init}. */
    public Dropout(double probability) {
        this(probability, Init.random());
    }

    /** Drops with probability p, drawing from {@code random}. */
    public Dropout(double probability, Random random) {
        if (!(probability >= 0 && probability < 1)) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + probability);
        }
        this.probability = probability;
        this.random = random;
    }

    @Override
    public Tensor forward(Tensor x) {
        return isTraining() ? Functional.dropout(x, probability, random) : x;
    }

    @Override
    protected void visitDirectGenerators(java.util.function.BiConsumer<String, Random> visitor) {
        visitor.accept("random", random);
    }

    /** The drop probability. */
    public double probability() {
        return probability;
    }
}
