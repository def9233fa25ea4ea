package dev.lora4j.lora.internal;

import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.LoraAdapter;
import dev.lora4j.lora.LoraLayer;
import dev.lora4j.nn.AdaptableLayer;
import dev.lora4j.nn.internal.Lent;
import java.util.Collection;
import java.util.Random;

/**
 * Internal plumbing, not API: the state-changing operations on one layer's LoRA adapters for
 * lora4j's own code outside {@code dev.lora4j.lora} (the injectors here, and tests and
 * benchmarks that build a layer by hand). Users change adapters through
 * {@link dev.lora4j.lora.LoraModel}, which keeps its registry of adapter names, configurations and
 * the active set in step with the layers; {@code Lora.inject}, {@code Lora.wrap} and
 * {@code Lora.adopt} create them. The operations themselves are package-private in
 * {@link LoraLayer} and {@code LoraLayers}, so the public API has one way to do each thing.
 *
 * <p>This is the shared-secrets pattern: {@code dev.lora4j.lora} implements {@link Access} and
 * hands it to {@link #register} from {@code LoraLayer}'s static initialiser; every method here
 * first makes sure that class is initialised. Each method does exactly what the package-private
 * method of the same name does, with the same exceptions.
 */
public final class LayerMutations {

    /**
     * What {@code dev.lora4j.lora} lends this bridge; implemented there once, by a class no other
     * package can see.
     */
    public interface Access {

        /** {@code LoraLayers.attach(layer)}. */
        LoraLayer attach(AdaptableLayer<?> layer);

        /** {@code layer.addAdapter(name, spec, random)}. */
        LoraAdapter addAdapter(LoraLayer layer, String name, AdapterSettings spec, Random random);

        /** {@code layer.newAdapter(name, spec, random)}. */
        LoraAdapter newAdapter(LoraLayer layer, String name, AdapterSettings spec, Random random);

        /** {@code layer.attach(adapter)}. */
        void attach(LoraLayer layer, LoraAdapter adapter);

        /** {@code layer.merge(names)}. */
        void merge(LoraLayer layer, Collection<String> names);
    }

    private static final Lent<Access> LENT = new Lent<>(LoraLayer.class, "layer mutations");

    private LayerMutations() {}

    /**
     * Called once, by {@code LoraLayer}'s static initialiser (public only because that class is in
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
     * The LoRA adapters of {@code layer}, attached first when it has none, of the kind the layer's
     * type takes (a {@code LoraLinear} for a {@code Linear}, and so on; {@code LoraLayers.of} reads
     * them back under that type).
     *
     * @throws IllegalArgumentException for a kind of layer LoRA has no adapters for
     * @throws IllegalStateException when the layer carries adapters that are not LoRA's
     */
    public static LoraLayer attach(AdaptableLayer<?> layer) {
        return access().attach(layer);
    }

    /**
     * Creates an adapter on {@code layer} and attaches it, trainable; it becomes active at once
     * when it is the layer's first.
     *
     * @throws IllegalArgumentException when the name is taken or the layer cannot take the settings
     */
    public static LoraAdapter addAdapter(LoraLayer layer, String name, AdapterSettings spec, Random random) {
        return access().addAdapter(layer, name, spec, random);
    }

    /**
     * Creates an adapter for {@code layer} without attaching it, so that its factors can be given
     * their final values before {@link #attach(LoraLayer, LoraAdapter)} makes it visible.
     *
     * @throws IllegalArgumentException when the name is taken or the layer cannot take the settings
     */
    public static LoraAdapter newAdapter(LoraLayer layer, String name, AdapterSettings spec, Random random) {
        return access().newAdapter(layer, name, spec, random);
    }

    /**
     * Attaches an adapter made by {@link #newAdapter} to {@code layer}, publishing it to every
     * thread at once (a PiSSA or OLoRA adapter first turns the base weight into its residual).
     *
     * @throws IllegalArgumentException when the layer has an adapter of that name
     */
    public static void attach(LoraLayer layer, LoraAdapter adapter) {
        access().attach(layer, adapter);
    }

    /**
     * Merges the named adapters into {@code layer}'s base weight, in the order given.
     *
     * @throws IllegalArgumentException when an adapter is not on the layer
     */
    public static void merge(LoraLayer layer, Collection<String> names) {
        access().merge(layer, names);
    }
}
