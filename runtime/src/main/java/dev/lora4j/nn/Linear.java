package dev.lora4j.nn;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import java.util.Random;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A fully connected layer {@code y = x·Wᵀ + b}, with the weight stored {@code [out, in]} as
 * PyTorch's {@code nn.Linear} does. A layer built {@link #fanInFanOut fan-in-fan-out} stores
 * {@code [in, out]} instead (as GPT-2's {@code Conv1D}) and computes {@code y = x·W + b}.
 */
public class Linear extends AdaptableLayer<LayerAdapters.OnInput> implements UnaryModule {

    protected final long inFeatures;
    protected final long outFeatures;
    protected final boolean fanInFanOut;
    protected final Parameter weight;
    protected final @Nullable Parameter bias;

    /** A layer with a bias, initialised as PyTorch does. */
    public Linear(long inFeatures, long outFeatures) {
        this(inFeatures, outFeatures, true);
    }

    /** A layer with or without a bias, initialised as PyTorch does (uniform ±1/√in). */
    public Linear(long inFeatures, long outFeatures, boolean withBias) {
        this(inFeatures, outFeatures, withBias, Init.random());
    }

    /** A layer initialised from {@code random}. */
    public Linear(long inFeatures, long outFeatures, boolean withBias, Random random) {
        this(new Parameter(Init.kaimingUniform(random, inFeatures, outFeatures, inFeatures)),
                withBias ? new Parameter(Init.uniform(random, 1.0 / Math.sqrt(inFeatures), outFeatures)) : null,
                false);
    }

    /**
     * A layer over existing weights (not copied).
     *
     * @param weight {@code [out, in]}, or {@code [in, out]} when {@code fanInFanOut}
     * @param bias {@code [out]} or {@code null}
     */
    public Linear(Parameter weight, @Nullable Parameter bias, boolean fanInFanOut) {
        if (weight.rank() != 2) {
            throw new IllegalArgumentException("a linear weight must be a matrix, got rank " + weight.rank());
        }
        this.weight = weight;
        this.bias = bias;
        this.fanInFanOut = fanInFanOut;
        this.inFeatures = fanInFanOut ? weight.size(0) : weight.size(1);
        this.outFeatures = fanInFanOut ? weight.size(1) : weight.size(0);
        if (bias != null && bias.value().length() != outFeatures) {
            throw new IllegalArgumentException("bias has " + bias.value().length() + " elements, expected " + outFeatures);
        }
    }

    /** A layer over copies of the given arrays ({@code weight [out, in]}; bias may be null). */
    public static Linear of(INDArray weight, @Nullable INDArray bias) {
        return new Linear(new Parameter(weight.dup()), bias == null ? null : new Parameter(bias.dup()), false);
    }

    /**
     * {@code x·Wᵀ + b}, plus the updates of the active LoRA adapters when any are attached. A
     * subclass that overrides this should call {@code super.forward} to keep its adapters.
     */
    @Override
    public Tensor forward(Tensor x) {
        LayerAdapters.OnInput attached = adapters();
        return attached == null ? Functional.linear(x, weight, bias, fanInFanOut) : attached.forward(x, isTraining());
    }


    /** The weight parameter. */
    @Override
    public Parameter weight() {
        return weight;
    }

    /** The bias parameter, or {@code null}. */
    public @Nullable Parameter bias() {
        return bias;
    }

    /** Input features. */
    public long inFeatures() {
        return inFeatures;
    }

    /** Output features. */
    public long outFeatures() {
        return outFeatures;
    }

    /** Whether the weight is stored {@code [in, out]}. */
    public boolean isFanInFanOut() {
        return fanInFanOut;
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(" + inFeatures + " -> " + outFeatures + (bias == null ? ", no bias" : "") + ")";
    }
}
