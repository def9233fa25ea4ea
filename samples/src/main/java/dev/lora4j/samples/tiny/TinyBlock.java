package dev.lora4j.samples.tiny;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;

/** A pre-norm transformer block: attention, then an MLP, each with a residual connection. */
public class TinyBlock extends Module {

    final LayerNorm norm1;
    final CausalSelfAttention attention;
    final LayerNorm norm2;
    final Linear up;
    final Linear down;

    /** A block over vectors of size {@code dim}, with an MLP four times as wide. */
    public TinyBlock(int dim, int heads) {
        norm1 = new LayerNorm(dim);
        attention = new CausalSelfAttention(dim, heads);
        norm2 = new LayerNorm(dim);
        up = new Linear(dim, 4L * dim);
        down = new Linear(4L * dim, dim);
    }

    /** {@code [batch, time, dim]} to the same shape. */
    public Tensor forward(Tensor x) {
        Tensor h = x.add(attention.forward(norm1.forward(x)));
        return h.add(down.forward(up.forward(norm2.forward(h)).gelu()));
    }

    /** The attention layer. */
    public CausalSelfAttention attention() {
        return attention;
    }
}
