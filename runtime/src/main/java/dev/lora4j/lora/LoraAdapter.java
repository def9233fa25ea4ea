package dev.lora4j.lora;

import dev.lora4j.nn.Parameter;
import java.util.Random;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One named adapter on one layer: the trainable factors A and B, DoRA's magnitude vector when the
 * spec asks for DoRA, and the spec they came from. For a linear layer {@code A [r, in]}, {@code B
 * [out, r]} and {@code m [out]}; for an embedding {@code A [r, vocabulary]} and {@code B [dim, r]}.
 *
 * <p>An adapter initialised with {@link dev.lora4j.api.LoraInit#PISSA PiSSA} or {@link
 * dev.lora4j.api.LoraInit#OLORA OLoRA} also keeps copies of its initial factors {@code A₀} and {@code
 * B₀}: attaching it left the residual {@code W − s·B₀·A₀} in the base weight, and converting it to a
 * plain LoRA adapter for the original base needs them ({@link #initialFactors()}).
 */
public final class LoraAdapter {

    private final String name;
    private final AdapterSettings spec;
    private final Parameter a;
    private final Parameter b;
    private final @Nullable Parameter magnitude;
    private final Random dropoutRandom;
    private final INDArray @Nullable [] initial;

    LoraAdapter(String name, AdapterSettings spec, Parameter a, Parameter b, @Nullable Parameter magnitude,
            Random dropoutRandom) {
        this(name, spec, a, b, magnitude, dropoutRandom, false);
    }

    /** With {@code keepInitial}, copies of A's and B's values now are kept as {@link #initialFactors()}. */
    LoraAdapter(String name, AdapterSettings spec, Parameter a, Parameter b, @Nullable Parameter magnitude,
            Random dropoutRandom, boolean keepInitial) {
        if (spec.dora() != (magnitude != null)) {
            throw new IllegalArgumentException("adapter '" + name + "': a DoRA adapter needs a magnitude vector and"
                    + " a plain LoRA adapter has none");
        }
        this.name = name;
        this.spec = spec;
        this.a = a;
        this.b = b;
        this.magnitude = magnitude;
        this.dropoutRandom = dropoutRandom;
        this.initial = keepInitial ? new INDArray[] {a.value().dup(), b.value().dup()} : null;
    }

    /**
     * {@code {A₀, B₀}}, the factors a PiSSA or OLoRA adapter was initialised with (copies, whatever
     * was trained or loaded since), or {@code null} for an adapter whose init left the base weight
     * as it was.
     */
    public INDArray @Nullable [] initialFactors() {
        return initial == null ? null : initial.clone();
    }

    /** The adapter's name, e.g. {@code default}. */
    public String name() {
        return name;
    }

    /** Rank, alpha, dropout, scaling mode, init and whether it is DoRA. */
    public AdapterSettings spec() {
        return spec;
    }

    /** The down-projection A. */
    public Parameter a() {
        return a;
    }

    /** The up-projection B. */
    public Parameter b() {
        return b;
    }

    /** Whether this is a DoRA adapter, with a {@link #magnitude()}. */
    public boolean isDora() {
        return magnitude != null;
    }

    /**
     * DoRA's magnitude vector {@code m}, one value per output feature (PEFT's {@code
     * lora_magnitude_vector}).
     *
     * @throws IllegalStateException for a plain LoRA adapter, which has none
     */
    public Parameter magnitude() {
        if (magnitude == null) {
            throw new IllegalStateException("adapter '" + name + "' is not a DoRA adapter and has no magnitude vector");
        }
        return magnitude;
    }

    /** The multiplier of B·A. */
    public double scaling() {
        return spec.scaling();
    }

    /** Makes every parameter of the adapter trainable or frozen. */
    void setTrainable(boolean trainable) {
        a.setTrainable(trainable);
        b.setTrainable(trainable);
        if (magnitude != null) {
            magnitude.setTrainable(trainable);
        }
    }

    Random dropoutRandom() {
        return dropoutRandom;
    }
}
