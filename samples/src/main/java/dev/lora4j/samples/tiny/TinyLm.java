package dev.lora4j.samples.tiny;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A small causal transformer language model: token and position embeddings, pre-norm blocks,
 * a final norm and an output head. LoRA sits on the attention query and value projections through
 * the {@code @LoRA} fields of {@link CausalSelfAttention}; nothing here mentions adapters.
 *
 * <pre>{@code
 * TinyLm model = new TinyLm(64, 32, 4, 2, 16);
 * LoraModel<TinyLm> lora = LoraAgent.installation().isPresent() ? Lora.adopt(model) : Lora.inject(model);
 * }</pre>
 */
public class TinyLm extends Module {

    final Embedding tokens;
    final Embedding positions;
    final List<TinyBlock> blocks = new ArrayList<>();
    final LayerNorm norm;
    final Linear head;
    private final int maxLength;
    private final transient CrossEntropyLoss loss = new CrossEntropyLoss();

    /**
     * A model with randomly initialised weights (from {@code Init}'s shared generator).
     *
     * @param vocabulary number of token ids
     * @param dim model width; a multiple of {@code heads}
     * @param heads attention heads per block
     * @param layers number of blocks
     * @param maxLength longest sequence the position table covers
     */
    public TinyLm(int vocabulary, int dim, int heads, int layers, int maxLength) {
        tokens = new Embedding(vocabulary, dim);
        positions = new Embedding(maxLength, dim);
        for (int i = 0; i < layers; i++) {
            blocks.add(new TinyBlock(dim, heads));
        }
        norm = new LayerNorm(dim);
        head = new Linear(dim, vocabulary);
        this.maxLength = maxLength;
        tokens.weight().value().muli(0.1);
        positions.weight().value().muli(0.1);
    }

    /** Logits {@code [batch, time, vocabulary]} for token ids {@code [batch, time]}. */
    public Tensor forward(INDArray ids) {
        long batch = ids.size(0);
        long time = ids.size(1);
        if (time > maxLength) {
            throw new IllegalArgumentException("sequence of " + time + " tokens exceeds " + maxLength);
        }
        INDArray positionIds = Nd4j.arange(time).castTo(DataType.INT32).reshape(1, time).repeat(0, batch);
        Tensor x = tokens.forward(ids).add(positions.forward(positionIds));
        for (TinyBlock block : blocks) {
            x = block.forward(x);
        }
        return head.forward(norm.forward(x));
    }

    /**
     * Mean next-token cross-entropy: position t of {@code ids [batch, time]} predicts
     * {@code targets[b][t]}.
     */
    public Tensor loss(INDArray ids, int[][] targets) {
        int[] flat = new int[Math.toIntExact(ids.length())];
        int i = 0;
        for (int[] row : targets) {
            for (int target : row) {
                flat[i++] = target;
            }
        }
        if (i != flat.length) {
            throw new IllegalArgumentException(i + " targets for " + flat.length + " positions");
        }
        return loss.compute(forward(ids), flat);
    }

    /** The blocks, first to last. */
    public List<TinyBlock> blocks() {
        return Collections.unmodifiableList(blocks);
    }
}
