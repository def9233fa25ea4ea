package dev.lora4j.samples.tiny;

import dev.lora4j.api.LoRA;
import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;

/**
 * Causal multi-head self-attention over {@code [batch, time, dim]}, with LoRA on the query and
 * value projections, as in the LoRA paper. The annotations are all it takes: the agent adapts
 * every instance when its constructor finishes, or {@code Lora.inject(model)} does it later.
 */
public class CausalSelfAttention extends Module {

    @LoRA(rank = 4, alpha = 8)
    final Linear query;
    final Linear key;
    @LoRA(rank = 4, alpha = 8)
    final Linear value;
    final Linear output;
    private final int heads;

    /** Attention with {@code heads} heads over vectors of size {@code dim}. */
    public CausalSelfAttention(int dim, int heads) {
        if (heads < 1 || dim % heads != 0) {
            throw new IllegalArgumentException("dim " + dim + " must be a multiple of heads " + heads);
        }
        this.query = new Linear(dim, dim);
        this.key = new Linear(dim, dim);
        this.value = new Linear(dim, dim);
        this.output = new Linear(dim, dim);
        this.heads = heads;
    }

    /** {@code [batch, time, dim]} to {@code [batch, time, dim]}; position t sees positions up to t. */
    public Tensor forward(Tensor x) {
        return output.forward(Functional.multiHeadAttention(query.forward(x), key.forward(x), value.forward(x), heads,
                true, null));
    }

    /** The query projection (LoRA-adapted). */
    public Linear query() {
        return query;
    }

    /** The key projection. */
    public Linear key() {
        return key;
    }

    /** The value projection (LoRA-adapted). */
    public Linear value() {
        return value;
    }

    /** The output projection. */
    public Linear output() {
        return output;
    }
}
