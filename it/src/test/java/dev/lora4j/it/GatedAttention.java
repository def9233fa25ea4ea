package dev.lora4j.it;

import dev.lora4j.nn.Linear;
import dev.lora4j.samples.tiny.CausalSelfAttention;

/** A subclass of an annotated class that adds no annotations of its own. */
public class GatedAttention extends CausalSelfAttention {

    final Linear gate;

    public GatedAttention(int dim, int heads) {
        super(dim, heads);
        gate = new Linear(dim, dim);
    }
}
