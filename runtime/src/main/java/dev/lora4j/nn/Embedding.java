package dev.lora4j.nn;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.LoraEmbedding;
import java.util.Random;
import java.util.function.BiConsumer;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A lookup table {@code weight [vocabulary, dim]} from integer ids to vectors. */
public class Embedding extends Module {

    protected final Parameter weight;
    private transient LoraEmbedding lora;

    /** A table initialised standard normal, as PyTorch does. */
    public Embedding(long vocabulary, long dim) {
        this(vocabulary, dim, Init.random());
    }

    /** A table initialised standard normal from {@code random}. */
    public Embedding(long vocabulary, long dim, Random random) {
        this(new Parameter(Init.normal(random, 1.0, vocabulary, dim)));
    }

    /** A table over an existing weight (not copied). */
    public Embedding(Parameter weight) {
        if (weight.rank() != 2) {
            throw new IllegalArgumentException("an embedding weight must be a matrix, got rank " + weight.rank());
        }
        this.weight = weight;
    }

    /** Looks up {@code ids} (any shape): the result has that shape plus a last dimension. */
    public Tensor forward(INDArray ids) {
        Tensor y = Functional.embedding(ids, weight);
        LoraEmbedding adapters = lora;
        return adapters == null ? y : adapters.addUpdates(ids, y);
    }

    /** The LoRA adapters attached to this table, created on first call. */
    public LoraEmbedding attachLora() {
        if (lora == null) {
            lora = new LoraEmbedding(this);
        }
        return lora;
    }

    /** The attached LoRA adapters, or {@code null} when none are attached. */
    public LoraEmbedding lora() {
        return lora;
    }

    /** Removes all adapters without merging them. */
    public void detachLora() {
        lora = null;
    }

    @Override
    protected void visitDirectParameters(BiConsumer<String, Parameter> visitor) {
        super.visitDirectParameters(visitor);
        if (lora != null) {
            lora.visitParameters(visitor);
        }
    }

    /** The table. */
    public Parameter weight() {
        return weight;
    }

    /** The number of ids. */
    public long vocabulary() {
        return weight.size(0);
    }

    /** The vector size. */
    public long dim() {
        return weight.size(1);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(" + vocabulary() + ", " + dim() + ")";
    }
}
