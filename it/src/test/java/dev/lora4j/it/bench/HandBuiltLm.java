package dev.lora4j.it.bench;

import dev.lora4j.api.LoraInit;
import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.internal.LayerMutations;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The control group of the agent-overhead benchmark: the architecture of the samples' TinyLm,
 * with the LoRA adapters on query and value attached by hand in the constructor and no
 * annotation anywhere, so the agent leaves the class alone.
 */
final class HandBuiltLm extends Module {

    static final class Attention extends Module {
        final Linear query;
        final Linear key;
        final Linear value;
        final Linear output;
        private final int heads;

        Attention(int dim, int heads, AdapterSettings spec, Random random) {
            this.query = new Linear(dim, dim);
            this.key = new Linear(dim, dim);
            this.value = new Linear(dim, dim);
            this.output = new Linear(dim, dim);
            this.heads = heads;
            query.freeze();
            value.freeze();
            LayerMutations.addAdapter(LayerMutations.attach(query), "default", spec, random);
            LayerMutations.addAdapter(LayerMutations.attach(value), "default", spec, random);
        }

        Tensor forward(Tensor x) {
            return output.forward(Functional.multiHeadAttention(query.forward(x), key.forward(x), value.forward(x),
                    heads, true, null));
        }
    }

    static final class Block extends Module {
        final LayerNorm norm1;
        final Attention attention;
        final LayerNorm norm2;
        final Linear up;
        final Linear down;

        Block(int dim, int heads, AdapterSettings spec, Random random) {
            norm1 = new LayerNorm(dim);
            attention = new Attention(dim, heads, spec, random);
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

    HandBuiltLm(int vocabulary, int dim, int heads, int layers, int maxLength) {
        AdapterSettings spec = new AdapterSettings(4, 8, 0, false, LoraInit.KAIMING_UNIFORM);
        Random random = new Random(1);
        tokens = new Embedding(vocabulary, dim);
        positions = new Embedding(maxLength, dim);
        for (int i = 0; i < layers; i++) {
            blocks.add(new Block(dim, heads, spec, random));
        }
        norm = new LayerNorm(dim);
        head = new Linear(dim, vocabulary);
    }

    Tensor forward(INDArray ids) {
        long time = ids.size(1);
        INDArray positionIds = Nd4j.arange(time).castTo(DataType.INT32).reshape(1, time).repeat(0, ids.size(0));
        Tensor x = tokens.forward(ids).add(positions.forward(positionIds));
        for (Block block : blocks) {
            x = block.forward(x);
        }
        return head.forward(norm.forward(x));
    }
}
