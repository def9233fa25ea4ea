package dev.lora4j.samples.names;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A small GPT-style character model: token and position embeddings, pre-norm blocks of causal
 * self-attention and a GELU MLP with residual connections, and a linear head. Written as a user
 * writes a model: fields for layers and a forward method with tensor operations.
 */
public final class CharTransformer extends Module {

    /** Causal self-attention with its own projections, so that LoRA can target {@code query} and {@code value}. */
    public static final class SelfAttention extends Module {
        final Linear query;
        final Linear key;
        final Linear value;
        final Linear output;
        private final int heads;

        SelfAttention(int dim, int heads) {
            this.query = new Linear(dim, dim);
            this.key = new Linear(dim, dim);
            this.value = new Linear(dim, dim);
            this.output = new Linear(dim, dim);
            this.heads = heads;
        }

        Tensor forward(Tensor x) {
            return output.forward(Functional.multiHeadAttention(query.forward(x), key.forward(x), value.forward(x),
                    heads, true, null));
        }
    }

    /** Attention and MLP, each behind a LayerNorm and inside a residual connection. */
    public static final class Block extends Module {
        final LayerNorm norm1;
        final SelfAttention attention;
        final LayerNorm norm2;
        final Linear up;
        final Linear down;

        Block(int dim, int heads) {
            this.norm1 = new LayerNorm(dim);
            this.attention = new SelfAttention(dim, heads);
            this.norm2 = new LayerNorm(dim);
            this.up = new Linear(dim, 4L * dim);
            this.down = new Linear(4L * dim, dim);
        }

        Tensor forward(Tensor x) {
            Tensor h = x.add(attention.forward(norm1.forward(x)));
            return h.add(down.forward(up.forward(norm2.forward(h)).gelu()));
        }
    }

    final Embedding tokens;
    final Embedding positions;
    final List<Block> blocks = new ArrayList<>();
    final LayerNorm norm;
    final Linear head;

    /** A model over {@code vocabulary} ids and sequences up to {@code length}. */
    public CharTransformer(int vocabulary, int length, int dim, int heads, int layers) {
        this.tokens = new Embedding(vocabulary, dim);
        this.positions = new Embedding(length, dim);
        tokens.weight().value().muli(0.02);
        positions.weight().value().muli(0.02);
        for (int i = 0; i < layers; i++) {
            blocks.add(new Block(dim, heads));
        }
        this.norm = new LayerNorm(dim);
        this.head = new Linear(dim, vocabulary);
    }

    /** Next-character logits {@code [batch, time, vocabulary]} for ids {@code [batch, time]}. */
    public Tensor forward(INDArray ids) {
        long time = ids.size(1);
        INDArray positionIds = Nd4j.arange(time).castTo(DataType.INT).reshape(1, time).repeat(0, ids.size(0));
        Tensor x = tokens.forward(ids).add(positions.forward(positionIds));
        for (Block block : blocks) {
            x = block.forward(x);
        }
        return head.forward(norm.forward(x));
    }
}
