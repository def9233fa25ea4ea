package dev.lora4j.nn;

import dev.lora4j.nn.internal.AdapterAttachments;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * A layer that can carry adapters: it holds them itself, so a field of the layer's type keeps its
 * type when adapters are attached and the model's forward code needs no change. Which adapters
 * (LoRA's are {@code dev.lora4j.lora.LoraLayers}) is up to whoever attaches them.
 *
 * <p>The adapters are read with {@link #adapters()}; attaching and removing them is package-private,
 * so that a layer's LoRA adapters change only through {@code dev.lora4j.lora.LoraModel}, which
 * keeps its registry of adapter names in step. lora4j's own code in other packages reaches those
 * two operations through the internal bridge {@link AdapterAttachments}, registered by this
 * class's static initialiser.
 *
 * @param <A> what the layer's forward pass needs from its adapters
 */
public abstract class AdaptableLayer<A extends LayerAdapters> extends Module {

    static {
        AdapterAttachments.register(new AdapterAttachmentsAccess());
    }

    private transient volatile @Nullable A adapters;

    /** The weight that adapters merge into. */
    public abstract Parameter weight();

    /**
     * The attached adapters; when none are attached, those {@code create} makes, attached first.
     * Two threads attaching at once get the same adapters. Package-private: other packages of
     * lora4j use {@link AdapterAttachments#attach}.
     *
     * @throws IllegalArgumentException when {@code create} returns {@code null} (nothing is attached)
     */
    final synchronized A attachAdapters(Supplier<? extends A> create) {
        A attached = adapters;
        if (attached == null) {
            attached = create.get();
            if (attached == null) {
                throw new IllegalArgumentException("the adapter factory for " + getClass().getSimpleName()
                        + " returned null");
            }
            adapters = attached;
        }
        return attached;
    }

    /**
     * The attached adapters, or {@code null} when none are attached. Read-only: LoRA's are changed
     * through {@code dev.lora4j.lora.LoraModel}, and read under their own types with
     * {@code dev.lora4j.lora.LoraLayers.of}.
     */
    public final @Nullable A adapters() {
        return adapters;
    }

    /**
     * Removes the adapters without merging them (the base weight stays as it is). Package-private:
     * other packages of lora4j use {@link AdapterAttachments#detach}.
     */
    final void detachAdapters() {
        adapters = null;
    }

    /** The adapters' dropout generators, e.g. {@code lora_dropout.default}. */
    @Override
    protected void visitDirectGenerators(BiConsumer<String, java.util.Random> visitor) {
        super.visitDirectGenerators(visitor);
        A attached = adapters;
        if (attached != null) {
            attached.visitGenerators(visitor);
        }
    }

    /** The layer's own parameters, then its adapters' (e.g. {@code lora_A.default.weight}). */
    @Override
    protected void visitDirectParameters(BiConsumer<String, Parameter> visitor) {
        super.visitDirectParameters(visitor);
        A attached = adapters;
        if (attached != null) {
            attached.visitParameters(visitor);
        }
    }
}
