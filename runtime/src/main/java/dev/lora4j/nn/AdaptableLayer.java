package dev.lora4j.nn;

import dev.lora4j.lora.LoraLayer;
import java.util.function.BiConsumer;

/**
 * A layer that can carry LoRA adapters: it holds them itself, so a field of the layer's type
 * keeps its type when adapters are attached and the model's forward code needs no change.
 *
 * @param <L> the kind of adapters ({@link dev.lora4j.lora.LoraLinear}, {@link dev.lora4j.lora.LoraEmbedding},
 *     {@link dev.lora4j.lora.LoraConv2d})
 */
public abstract class AdaptableLayer<L extends LoraLayer> extends Module {

    private transient volatile L lora;

    /** New, empty adapters for this layer. */
    protected abstract L newLora();

    /** The weight that adapters merge into. */
    public abstract Parameter weight();

    /** The LoRA adapters attached to this layer, created on first call. */
    public final synchronized L attachLora() {
        if (lora == null) {
            lora = newLora();
        }
        return lora;
    }

    /** The attached LoRA adapters, or {@code null} when none are attached. */
    public final L lora() {
        return lora;
    }

    /**
     * The shapes {@code {A, B}} of the factors of a rank-{@code rank} adapter on this layer, as PEFT
     * saves them; nothing is attached.
     *
     * @throws IllegalArgumentException when this layer cannot take that rank (a grouped convolution)
     */
    public final long[][] loraFactorShapes(int rank) {
        L layer = lora != null ? lora : newLora();
        return new long[][] {layer.aShape(rank), layer.bShape(rank)};
    }

    /** Removes all adapters without merging them (the base weight stays as it is). */
    public final void detachLora() {
        lora = null;
    }

    /** The adapters' dropout generators, e.g. {@code lora_dropout.default}. */
    @Override
    protected void visitDirectGenerators(BiConsumer<String, java.util.Random> visitor) {
        super.visitDirectGenerators(visitor);
        L layer = lora;
        if (layer != null) {
            layer.visitGenerators(visitor);
        }
    }

    /** The layer's own parameters, then its adapters' factors (e.g. {@code lora_A.default.weight}). */
    @Override
    protected void visitDirectParameters(BiConsumer<String, Parameter> visitor) {
        super.visitDirectParameters(visitor);
        if (lora != null) {
            lora.visitParameters(visitor);
        }
    }
}
