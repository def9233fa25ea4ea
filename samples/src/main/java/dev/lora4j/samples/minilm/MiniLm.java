package dev.lora4j.samples.minilm;

import dev.lora4j.api.LoRA;
import dev.lora4j.autograd.PackedTokens;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * A BERT encoder, as {@code sentence-transformers/all-MiniLM-L6-v2} is: embeddings, then post-norm
 * layers of self-attention and a GELU feed-forward block, returning the last hidden state.
 *
 * <p>The fields carry Hugging Face's module names ({@code embeddings.word_embeddings},
 * {@code encoder.layer.0.attention.self.query}, {@code ...output.LayerNorm}), against Java's naming
 * habits, because module paths become the keys of saved adapters: an adapter trained here is saved
 * as {@code base_model.model.encoder.layer.0.attention.self.query.lora_A.weight} and loads in PEFT
 * onto the Hugging Face model.
 *
 * <p>{@code query} and {@code value} carry {@code @LoRA(rank = 8, alpha = 16)}, as in the LoRA
 * paper. The annotations do nothing on their own: adapters appear when the lora4j agent runs (at
 * construction) or {@code Lora.inject(model)} is called; otherwise the model is the plain encoder,
 * and {@code Lora.wrap(model, config)} can still adapt whatever a {@code LoraConfig} targets.
 *
 * <p>Hidden-state dropout is applied in training mode as BERT does; dropout on the attention
 * probabilities is left out (the attention function has none).
 */
public final class MiniLm extends Module {

    /** The sizes of a BERT encoder. */
    public record Config(int vocabulary, int hidden, int layers, int heads, int intermediate, int maxPositions,
            int typeVocabulary, double layerNormEps, double hiddenDropout) {

        /** all-MiniLM-L6-v2: 6 layers, hidden 384, 12 heads, feed-forward 1536, BERT's uncased vocabulary. */
        public static final Config ALL_MINILM_L6_V2 = new Config(30522, 384, 6, 12, 1536, 512, 2, 1e-12, 0.1);

        public Config {
            if (hidden % heads != 0) {
                throw new IllegalArgumentException("hidden " + hidden + " is not a multiple of heads " + heads);
            }
        }
    }

    /**
     * Supplies a parameter by its Hugging Face name in PyTorch's layout (a linear weight is
     * {@code [out, in]}), or fails naming it.
     */
    @FunctionalInterface
    public interface Weights {
        INDArray tensor(String name, long... shape);
    }

    /** Word, position and token-type embeddings, summed and normalised. */
    public static final class Embeddings extends Module {
        final Embedding word_embeddings;
        final Embedding position_embeddings;
        final Embedding token_type_embeddings;
        final LayerNorm LayerNorm;
        final Dropout dropout;

        Embeddings(String path, Config c, Weights w) {
            this.word_embeddings = embedding(path + ".word_embeddings", c.vocabulary(), c.hidden(), w);
            this.position_embeddings = embedding(path + ".position_embeddings", c.maxPositions(), c.hidden(), w);
            this.token_type_embeddings = embedding(path + ".token_type_embeddings", c.typeVocabulary(), c.hidden(), w);
            this.LayerNorm = layerNorm(path + ".LayerNorm", c, w);
            this.dropout = new Dropout(c.hiddenDropout());
        }

        Tensor forward(INDArray inputIds, INDArray tokenTypeIds, PackedTokens tokens) {
            long time = inputIds.size(1);
            if (time > position_embeddings.vocabulary()) {
                throw new IllegalArgumentException("sequence of " + time + " tokens, the model has "
                        + position_embeddings.vocabulary() + " positions");
            }
            INDArray types = tokenTypeIds != null ? tokenTypeIds : Nd4j.zeros(DataType.INT32, inputIds.size(0), time);
            Tensor x = word_embeddings.forward(tokens.perToken(inputIds))
                    .add(token_type_embeddings.forward(tokens.perToken(types)))
                    .add(position_embeddings.forward(tokens.positions()));
            return dropout.forward(LayerNorm.forward(x));
        }
    }

    /** Multi-head scaled dot-product self-attention; LoRA targets its query and value projections. */
    public static final class SelfAttention extends Module {
        @LoRA(rank = 8, alpha = 16)
        final Linear query;
        final Linear key;
        @LoRA(rank = 8, alpha = 16)
        final Linear value;
        private final int heads;

        SelfAttention(String path, Config c, Weights w) {
            this.query = linear(path + ".query", c.hidden(), c.hidden(), w);
            this.key = linear(path + ".key", c.hidden(), c.hidden(), w);
            this.value = linear(path + ".value", c.hidden(), c.hidden(), w);
            this.heads = c.heads();
        }

        Tensor forward(Tensor x, PackedTokens tokens) {
            return tokens.multiHeadAttention(query.forward(x), key.forward(x), value.forward(x), heads, false);
        }
    }

    /** A projection, dropout, and a residual connection into a LayerNorm. */
    public static final class ResidualOutput extends Module {
        final Linear dense;
        final LayerNorm LayerNorm;
        final Dropout dropout;

        ResidualOutput(String path, long in, Config c, Weights w) {
            this.dense = linear(path + ".dense", in, c.hidden(), w);
            this.LayerNorm = layerNorm(path + ".LayerNorm", c, w);
            this.dropout = new Dropout(c.hiddenDropout());
        }

        Tensor forward(Tensor h, Tensor residual) {
            return LayerNorm.forward(dropout.forward(dense.forward(h)).add(residual));
        }
    }

    /** Self-attention and its output block ({@code attention.self}, {@code attention.output}). */
    public static final class Attention extends Module {
        final SelfAttention self;
        final ResidualOutput output;

        Attention(String path, Config c, Weights w) {
            this.self = new SelfAttention(path + ".self", c, w);
            this.output = new ResidualOutput(path + ".output", c.hidden(), c, w);
        }

        Tensor forward(Tensor x, PackedTokens tokens) {
            return output.forward(self.forward(x, tokens), x);
        }
    }

    /** The feed-forward expansion with GELU. */
    public static final class Intermediate extends Module {
        final Linear dense;

        Intermediate(String path, Config c, Weights w) {
            this.dense = linear(path + ".dense", c.hidden(), c.intermediate(), w);
        }

        Tensor forward(Tensor x) {
            return dense.forward(x).gelu();
        }
    }

    /** One encoder layer. */
    public static final class BertLayer extends Module {
        final Attention attention;
        final Intermediate intermediate;
        final ResidualOutput output;

        BertLayer(String path, Config c, Weights w) {
            this.attention = new Attention(path + ".attention", c, w);
            this.intermediate = new Intermediate(path + ".intermediate", c, w);
            this.output = new ResidualOutput(path + ".output", c.intermediate(), c, w);
        }

        Tensor forward(Tensor x, PackedTokens tokens) {
            Tensor attended = attention.forward(x, tokens);
            return output.forward(intermediate.forward(attended), attended);
        }
    }

    /** The stack of layers ({@code encoder.layer.i}). */
    public static final class Encoder extends Module {
        final List<BertLayer> layer = new ArrayList<>();

        Encoder(String path, Config c, Weights w) {
            for (int i = 0; i < c.layers(); i++) {
                layer.add(new BertLayer(path + ".layer." + i, c, w));
            }
        }

        Tensor forward(Tensor x, PackedTokens tokens) {
            for (BertLayer l : layer) {
                x = l.forward(x, tokens);
            }
            return x;
        }
    }

    final Embeddings embeddings;
    final Encoder encoder;
    private final Config config;

    /** An encoder of the given sizes with every parameter taken from {@code weights}. */
    public MiniLm(Config config, Weights weights) {
        this.config = config;
        this.embeddings = new Embeddings("embeddings", config, weights);
        this.encoder = new Encoder("encoder", config, weights);
    }

    /**
     * all-MiniLM-L6-v2 with its pretrained weights, read from the ONNX file in the langchain4j
     * jar on the class path, in evaluation mode (dropout off), all parameters trainable until an
     * adapter freezes them.
     */
    public static MiniLm pretrained() {
        OnnxWeights weights = OnnxWeights.minilm(); // read for this model only: no copy needed
        return inEvalMode(new MiniLm(Config.ALL_MINILM_L6_V2, weights::require));
    }

    /**
     * all-MiniLM-L6-v2 over already-read weights, copied: several models built from one
     * {@code OnnxWeights} do not share arrays, so merging an adapter into one leaves the others
     * alone.
     */
    public static MiniLm pretrained(OnnxWeights weights) {
        return inEvalMode(new MiniLm(Config.ALL_MINILM_L6_V2, (name, shape) -> weights.require(name, shape).dup()));
    }

    /**
     * all-MiniLM-L6-v2 over already-read weights, not copied: several models built this way share
     * one copy of the base (the Spark tasks of one JVM, {@link GenreSpark}). Only for models that
     * keep the base frozen and never merge into it.
     */
    public static MiniLm sharing(OnnxWeights weights) {
        return inEvalMode(new MiniLm(Config.ALL_MINILM_L6_V2, weights::require));
    }

    private static MiniLm inEvalMode(MiniLm model) {
        model.eval();
        return model;
    }

    /**
     * An untrained encoder initialised as BERT does (normal with standard deviation 0.02, zero
     * biases, unit LayerNorm scales), for tests and experiments that need no pretrained weights.
     */
    public static MiniLm random(Config config, long seed) {
        Random random = new Random(seed);
        return new MiniLm(config, (name, shape) -> {
            if (name.endsWith("LayerNorm.weight")) {
                return Nd4j.ones(DataType.FLOAT, shape);
            }
            if (name.endsWith(".bias")) {
                return Nd4j.zeros(DataType.FLOAT, shape);
            }
            long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            float[] values = new float[Math.toIntExact(n)];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (random.nextGaussian() * 0.02);
            }
            return Nd4j.createFromArray(values).reshape('c', shape);
        });
    }

    /** The sizes of this encoder. */
    public Config config() {
        return config;
    }

    /**
     * The last hidden state {@code [batch, time, hidden]} for token ids {@code [batch, time]} with
     * token type 0 everywhere.
     *
     * @param attentionMask {@code [batch, time]}, 1 for tokens and 0 for padding; {@code null}
     *     when nothing is padded
     */
    public Tensor forward(INDArray inputIds, INDArray attentionMask) {
        return forward(inputIds, attentionMask, null);
    }

    /**
     * The last hidden state {@code [batch, time, hidden]}.
     *
     * @param tokenTypeIds {@code [batch, time]} segment ids, or {@code null} for all zeros
     */
    public Tensor forward(INDArray inputIds, INDArray attentionMask, INDArray tokenTypeIds) {
        check(inputIds, attentionMask);
        return run(inputIds, tokenTypeIds, PackedTokens.everyPosition(inputIds.size(0), inputIds.size(1), attentionMask));
    }

    /**
     * The sentence embeddings {@code [batch, hidden]} of sentence-transformers: {@link #meanPool}
     * of the last hidden state, computed for the real tokens only (packed, {@link PackedTokens}):
     * the same values as {@code meanPool(forward(inputIds, attentionMask), attentionMask)} up to
     * float rounding, without the work for padding.
     *
     * @param attentionMask {@code [batch, time]}, 1 for tokens and 0 for padding; {@code null}
     *     when nothing is padded
     */
    public Tensor sentenceEmbeddings(INDArray inputIds, INDArray attentionMask) {
        check(inputIds, attentionMask);
        if (attentionMask == null || attentionMask.minNumber().doubleValue() == 1) {
            // nothing padded: packing would only copy the projections in and out of attention
            return meanPool(forward(inputIds, attentionMask), attentionMask);
        }
        PackedTokens tokens = PackedTokens.realTokens(attentionMask);
        return meanPool(tokens.unpack(run(inputIds, null, tokens)), attentionMask);
    }

    private Tensor run(INDArray inputIds, INDArray tokenTypeIds, PackedTokens tokens) {
        return encoder.forward(embeddings.forward(inputIds, tokenTypeIds, tokens), tokens);
    }

    private static void check(INDArray inputIds, INDArray attentionMask) {
        if (inputIds.rank() != 2) {
            throw new IllegalArgumentException("input ids must be [batch, time], got " + Arrays.toString(inputIds.shape()));
        }
        if (attentionMask != null && !Arrays.equals(attentionMask.shape(), inputIds.shape())) {
            throw new IllegalArgumentException("attention mask " + Arrays.toString(attentionMask.shape())
                    + " does not match the input ids " + Arrays.toString(inputIds.shape()));
        }
    }

    /**
     * The sentence embedding of sentence-transformers: the mean of the hidden states over the
     * tokens the mask keeps ({@code [batch, time, hidden]} to {@code [batch, hidden]}).
     */
    public static Tensor meanPool(Tensor hidden, INDArray attentionMask) {
        if (attentionMask == null) {
            return hidden.mean(1);
        }
        INDArray mask = attentionMask.castTo(hidden.dataType());
        INDArray counts = mask.sum(1).reshape(mask.size(0), 1);
        INDArray inverse = Transforms.max(counts, 1e-9, false).rdivi(1.0);
        return hidden.mul(Tensor.constant(mask.reshape(mask.size(0), mask.size(1), 1)))
                .sum(1)
                .mul(Tensor.constant(inverse));
    }

    private static Linear linear(String path, long in, long out, Weights w) {
        return new Linear(new Parameter(w.tensor(path + ".weight", out, in)),
                new Parameter(w.tensor(path + ".bias", out)), false);
    }

    private static Embedding embedding(String path, long rows, long dim, Weights w) {
        return new Embedding(new Parameter(w.tensor(path + ".weight", rows, dim)));
    }

    private static LayerNorm layerNorm(String path, Config c, Weights w) {
        LayerNorm norm = new LayerNorm(c.hidden(), c.layerNormEps());
        norm.weight().value().assign(w.tensor(path + ".weight", c.hidden()));
        norm.bias().value().assign(w.tensor(path + ".bias", c.hidden()));
        return norm;
    }
}
