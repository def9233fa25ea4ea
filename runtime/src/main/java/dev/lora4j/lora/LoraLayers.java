package dev.lora4j.lora;

import dev.lora4j.nn.AdaptableLayer;
import dev.lora4j.nn.Conv2d;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerAdapters;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.internal.AdapterAttachments;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The LoRA adapters a layer holds: {@code of} gives the attached ones or {@code null}, under their
 * own types ({@link LoraLinear}, {@link LoraEmbedding}, {@link LoraConv2d}); {@code factorShapes}
 * and {@code magnitudeShape} the shapes an adapter on a layer would have. The layers themselves
 * know adapters only as {@link LayerAdapters}; this class is the one place that makes LoRA's
 * (package-private {@code attach}, for {@link LoraModel} and, through the internal
 * {@link dev.lora4j.lora.internal.LayerMutations}, the injectors) and reads them back.
 */
public final class LoraLayers {

    private LoraLayers() {}

    /** The LoRA adapters of {@code layer}, attached first when it has none. */
    static LoraLinear attach(Linear layer) {
        return attach(layer, LoraLinear.class, () -> new LoraLinear(layer));
    }

    /** The LoRA adapters of {@code layer}, attached first when it has none. */
    static LoraEmbedding attach(Embedding layer) {
        return attach(layer, LoraEmbedding.class, () -> new LoraEmbedding(layer));
    }

    /** The LoRA adapters of {@code layer}, attached first when it has none. */
    static LoraConv2d attach(Conv2d layer) {
        return attach(layer, LoraConv2d.class, () -> new LoraConv2d(layer));
    }

    /**
     * The LoRA adapters of a layer known only as adaptable, attached first when it has none.
     *
     * @throws IllegalArgumentException for a kind of layer LoRA has no adapters for
     */
    @SuppressWarnings("unchecked") // detached(layer) makes the kind of adapters the layer's type takes
    static LoraLayer attach(AdaptableLayer<?> layer) {
        LayerAdapters attached = AdapterAttachments.attach((AdaptableLayer<LayerAdapters>) layer,
                () -> detached(layer));
        return as(layer, LoraLayer.class, attached);
    }

    /** The attached LoRA adapters of {@code layer}, or {@code null} when none are attached. */
    public static @Nullable LoraLinear of(Linear layer) {
        return lora(layer, LoraLinear.class);
    }

    /** The attached LoRA adapters of {@code layer}, or {@code null} when none are attached. */
    public static @Nullable LoraEmbedding of(Embedding layer) {
        return lora(layer, LoraEmbedding.class);
    }

    /** The attached LoRA adapters of {@code layer}, or {@code null} when none are attached. */
    public static @Nullable LoraConv2d of(Conv2d layer) {
        return lora(layer, LoraConv2d.class);
    }

    /** The attached LoRA adapters of a layer known only as adaptable, or {@code null}. */
    public static @Nullable LoraLayer of(AdaptableLayer<?> layer) {
        return lora(layer, LoraLayer.class);
    }

    /**
     * The shapes {@code {A, B}} of the factors of a rank-{@code rank} LoRA adapter on {@code layer},
     * as PEFT saves them; nothing is attached.
     *
     * @throws IllegalArgumentException when the layer cannot take that rank (a grouped convolution)
     *     or is not a kind LoRA adapts
     */
    public static long[][] factorShapes(AdaptableLayer<?> layer, int rank) {
        LoraLayer attached = of(layer);
        LoraLayer lora = attached != null ? attached : detached(layer);
        return new long[][] {lora.aShape(rank), lora.bShape(rank)};
    }

    /**
     * The shape of the magnitude vector of a DoRA adapter on {@code layer}, as PEFT saves it;
     * nothing is attached.
     *
     * @throws IllegalArgumentException when DoRA adapters cannot sit on the layer, or it is not a
     *     kind LoRA adapts
     */
    public static long[] magnitudeShape(AdaptableLayer<?> layer) {
        LoraLayer attached = of(layer);
        LoraLayer lora = attached != null ? attached : detached(layer);
        if (!lora.supportsDora()) {
            throw new IllegalArgumentException("DoRA (use_dora) is implemented for Linear, Embedding and ungrouped"
                    + " Conv2d layers only, not for " + layer);
        }
        return lora.magnitudeShape();
    }

    /** New LoRA adapters for {@code layer}, of the kind its type takes; not attached. */
    private static LoraLayer detached(AdaptableLayer<?> layer) {
        if (layer instanceof Linear linear) {
            return new LoraLinear(linear);
        }
        if (layer instanceof Embedding embedding) {
            return new LoraEmbedding(embedding);
        }
        if (layer instanceof Conv2d conv) {
            return new LoraConv2d(conv);
        }
        throw new IllegalArgumentException("LoRA has adapters for Linear, Embedding and Conv2d layers, not for "
                + layer.getClass().getName());
    }

    private static <A extends LayerAdapters, L extends A> L attach(AdaptableLayer<A> layer, Class<L> type,
            Supplier<L> create) {
        return as(layer, type, AdapterAttachments.attach(layer, create));
    }

    private static <L> @Nullable L lora(AdaptableLayer<?> layer, Class<L> type) {
        LayerAdapters attached = layer.adapters();
        return attached == null ? null : as(layer, type, attached);
    }

    private static <L> L as(AdaptableLayer<?> layer, Class<L> type, LayerAdapters attached) {
        if (!type.isInstance(attached)) {
            throw new IllegalStateException("the " + layer.getClass().getSimpleName() + " carries adapters of type "
                    + attached.getClass().getName() + ", not LoRA's " + type.getSimpleName());
        }
        return type.cast(attached);
    }
}
