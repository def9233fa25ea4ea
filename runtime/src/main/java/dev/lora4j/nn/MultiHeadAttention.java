package dev.lora4j.nn;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Multi-head self-attention over {@code [batch, time, dim]}, with projections {@code query},
 * {@code key}, {@code value} and {@code output}, optionally causal.
 */
public class MultiHeadAttention extends Module implements UnaryModule {

    protected final Linear query;
    protected final Linear key;
    protected final Linear value;
    protected final Linear output;
    private final int heads;
    private final boolean causal;

    /** Attention with {@code heads} heads over vectors of size {@code dim}. */
    public MultiHeadAttention(long dim, int heads, boolean causal) {
        if (heads < 1 || dim % heads != 0) {
            throw new IllegalArgumentException("dim " + dim + " must be a multiple of heads " + heads);
        }
        this.query = new Linear(dim, dim);
        this.key = new Linear(dim, dim);
        this.value = new Linear(dim, dim);
        this.output = new Linear(dim, dim);
        this.heads = heads;
        this.causal = causal;
    }

    @Override
    public Tensor forward(Tensor x) {
        return forward(x, null);
    }

    /**
     * @param x {@code [batch, time, dim]}
     * @param keyMask {@code [batch, time]}, 1 for tokens and 0 for padding; or {@code null}
     */
    public Tensor forward(Tensor x, @Nullable INDArray keyMask) {
        Tensor q = splitHeads(query.forward(x));
        Tensor k = splitHeads(key.forward(x));
        Tensor v = splitHeads(value.forward(x));
        Tensor attended = Functional.attention(q, k, v, causal, keyMask);
        return output.forward(mergeHeads(attended));
    }

    private Tensor splitHeads(Tensor x) {
        long batch = x.size(0);
        long time = x.size(1);
        long headDim = x.size(2) / heads;
        return x.reshape(batch, time, heads, headDim).permute(0, 2, 1, 3);
    }

    private Tensor mergeHeads(Tensor x) {
        long batch = x.size(0);
        long time = x.size(2);
        return x.permute(0, 2, 1, 3).reshape(batch, time, heads * x.size(3));
    }

    /** The number of heads. */
    public int heads() {
        return heads;
    }
}
