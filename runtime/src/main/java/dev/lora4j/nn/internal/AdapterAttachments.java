package dev.lora4j.nn.internal;

import dev.lora4j.nn.AdaptableLayer;
import dev.lora4j.nn.LayerAdapters;
import java.util.function.Supplier;

/**
 * Internal plumbing, not API: attaching adapters to an {@link AdaptableLayer} and removing them,
 * for lora4j's own code outside {@code dev.lora4j.nn} ({@code dev.lora4j.lora}'s
 * {@code LoraLayers}, {@code LoraModel} and injectors, the fine-tune pipeline, and tests). Users
 * read a layer's adapters with the public {@link AdaptableLayer#adapters()} and change them through
 * {@code dev.lora4j.lora.LoraModel}, which keeps its registry of adapter names in step with the
 * layers; the operations themselves are package-private in {@link AdaptableLayer}, so no other
 * code can put foreign adapters on a layer or drop its LoRA adapters behind the model's back.
 *
 * <p>This is the shared-secrets pattern, as in {@code dev.lora4j.lora.internal.LayerMutations}:
 * {@code dev.lora4j.nn} implements {@link Access} and hands it to {@link #register} from
 * {@code AdaptableLayer}'s static initialiser; every method here first makes sure that class is
 * initialised. Each method does exactly what the package-private method it names does, with the
 * same exceptions. This package depends on {@code dev.lora4j.nn} only, never on
 * {@code dev.lora4j.lora}.
 */
public final class AdapterAttachments {

    /**
     * What {@code dev.lora4j.nn} lends this bridge; implemented there once, by a class no other
     * package can see.
     */
    public interface Access {

        /** {@code layer.attachAdapters(create)}. */
        <A extends LayerAdapters> A attach(AdaptableLayer<A> layer, Supplier<? extends A> create);

        /** {@code layer.detachAdapters()}. */
        void detach(AdaptableLayer<?> layer);
    }

    private static final Lent<Access> LENT = new Lent<>(AdaptableLayer.class, "adapter attachments");

    private AdapterAttachments() {}

    /**
     * Called once, by {@code AdaptableLayer}'s static initialiser (public only because that class is in
     * another package); a second call is refused, so no other code can take the bridge over.
     *
     * @throws IllegalStateException when an implementation is registered already
     */
    public static void register(Access implementation) {
        LENT.register(implementation);
    }

    private static Access access() {
        return LENT.get();
    }

    /**
     * The adapters attached to {@code layer}; when it has none, those {@code create} makes,
     * attached first. Two threads attaching at once get the same adapters, and {@code create} runs
     * at most once per attachment.
     *
     * @param <A> what the layer's forward pass needs from its adapters
     * @throws IllegalArgumentException when {@code create} returns {@code null} (nothing is attached)
     */
    public static <A extends LayerAdapters> A attach(AdaptableLayer<A> layer, Supplier<? extends A> create) {
        return access().attach(layer, create);
    }

    /**
     * Removes {@code layer}'s adapters without merging them: the base weight stays as it is, and
     * the layer's parameters and forward pass are its own again. Nothing happens when none are
     * attached.
     */
    public static void detach(AdaptableLayer<?> layer) {
        access().detach(layer);
    }
}
