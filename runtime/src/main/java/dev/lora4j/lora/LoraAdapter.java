package dev.lora4j.lora;

import dev.lora4j.nn.Parameter;
import java.util.Random;

/**
 * One named adapter on one layer: the trainable factors A and B, and the spec they came from.
 * For a linear layer {@code A [r, in]} and {@code B [out, r]}; for an embedding
 * {@code A [r, vocabulary]} and {@code B [dim, r]}.
 */
public final class LoraAdapter {

    private final String name;
    private final AdapterSpec spec;
    private final Parameter a;
    private final Parameter b;
    private final Random dropoutRandom;

    LoraAdapter(String name, AdapterSpec spec, Parameter a, Parameter b, Random dropoutRandom) {
        this.name = name;
        this.spec = spec;
        this.a = a;
        this.b = b;
        this.dropoutRandom = dropoutRandom;
    }

    /** The adapter's name, e.g. {@code default}. */
    public String name() {
        return name;
    }

    /** Rank, alpha, dropout, scaling mode and init. */
    public AdapterSpec spec() {
        return spec;
    }

    /** The down-projection A. */
    public Parameter a() {
        return a;
    }

    /** The up-projection B. */
    public Parameter b() {
        return b;
    }

    /** The multiplier of B·A. */
    public double scaling() {
        return spec.scaling();
    }

    Random dropoutRandom() {
        return dropoutRandom;
    }
}
