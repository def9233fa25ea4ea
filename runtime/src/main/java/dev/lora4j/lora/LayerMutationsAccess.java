package dev.lora4j.lora;

import dev.lora4j.lora.internal.LayerMutations;
import dev.lora4j.nn.AdaptableLayer;
import java.util.Collection;
import java.util.Random;

/**
 * Lends {@link LayerMutations} the package-private operations of {@link LoraLayer} and
 * {@link LoraLayers}; registered by {@code LoraLayer}'s static initialiser. Not visible outside
 * this package.
 */
final class LayerMutationsAccess implements LayerMutations.Access {

    @Override
    public LoraLayer attach(AdaptableLayer<?> layer) {
        return LoraLayers.attach(layer);
    }

    @Override
    public LoraAdapter addAdapter(LoraLayer layer, String name, AdapterSettings spec, Random random) {
        return layer.addAdapter(name, spec, random);
    }

    @Override
    public LoraAdapter newAdapter(LoraLayer layer, String name, AdapterSettings spec, Random random) {
        return layer.newAdapter(name, spec, random);
    }

    @Override
    public void attach(LoraLayer layer, LoraAdapter adapter) {
        layer.attach(adapter);
    }

    @Override
    public void merge(LoraLayer layer, Collection<String> names) {
        layer.merge(names);
    }
}
