package dev.lora4j.testing;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.MultiHeadAttention;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A small pre-norm causal transformer language model, written as a user would write one. */
public final class TinyTransformer extends Module {

    /** One transformer block: attention and an MLP, each with a residual connection. */
    public static final class Block extends Module {
        final LayerNorm norm1;
        final MultiHeadAttention attention;
        final LayerNorm norm2;
        final Linear up;
        final Linear down;

        Block(int dim, int heads) {
            norm1 = new LayerNorm(dim);
            attention = new MultiHeadAttention(dim, heads, true);
            norm2 = new LayerNorm(dim);
            up = new Linear(dim, 4L * dim);
            down = new Linear(4L * dim, dim);
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
    private final int maxLength;

    public TinyTransformer(int vocabulary, int dim, int heads, int layers, int maxLength) {
        this.tokens = new Embedding(vocabulary, dim);
        this.positions = new Embedding(maxLength, dim);
        for (int i = 0; i < layers; i++) {
            blocks.add(new Block(dim, heads));
        }
        this.norm = new LayerNorm(dim);
        this.head = new Linear(dim, vocabulary);
        this.maxLength = maxLength;
        tokens.weight().value().muli(0.1);
        positions.weight().value().muli(0.1);
    }

    /** Logits {@code [batch, time, vocabulary]} for token ids {@code [batch, time]}. */
    public Tensor forward(INDArray ids) {
        long time = ids.size(1);
        if (time > maxLength) {
            throw new IllegalArgumentException("sequence of " + time + " exceeds " + maxLength);
        }
        INDArray positionIds = org.nd4j.linalg.factory.Nd4j.arange(time).castTo(org.nd4j.linalg.api.buffer.DataType.INT)
                .reshape(1, time).repeat(0, ids.size(0));
        Tensor x = tokens.forward(ids).add(positions.forward(positionIds));
        for (Block block : blocks) {
            x = block.forward(x);
        }
        return head.forward(norm.forward(x));
    }
}
