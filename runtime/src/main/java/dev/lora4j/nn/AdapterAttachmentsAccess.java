package dev.lora4j.nn;

import dev.lora4j.nn.internal.AdapterAttachments;
import java.util.function.Supplier;

/**
 * Lends {@link AdapterAttachments} the package-private operations of {@link AdaptableLayer};
 * registered by {@code AdaptableLayer}'s static initialiser. Not visible outside this package.
 */
final class AdapterAttachmentsAccess implements AdapterAttachments.Access {

    @Override
    public <A extends LayerAdapters> A attach(AdaptableLayer<A> layer, Supplier<? extends A> create) {
        return layer.attachAdapters(create);
    }

    @Override
    public void detach(AdaptableLayer<?> layer) {
        layer.detachAdapters();
    }
}
