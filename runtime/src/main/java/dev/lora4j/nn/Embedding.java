package dev.lora4j.nn;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A lookup table {@code weight [vocabulary, dim]} from integer ids to vectors. */
public class Embedding extends AdaptableLayer<LayerAdapters.OnIds> {

    protected final Parameter weight;

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
        LayerAdapters.OnIds attached = adapters();
        return attached == null ? y : attached.addUpdates(ids, y);
    }


    /** The table. */
    @Override
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
