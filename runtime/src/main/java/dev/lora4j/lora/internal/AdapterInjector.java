package dev.lora4j.lora.internal;

import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.LoraAdapter;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraLayer;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.nn.AdaptableLayer;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.internal.AdapterAttachments;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The one place that decides how an adapter is put on a layer. The configuration-driven path
 * ({@link #inject}), the annotation-driven agent and the reflective {@code inject(model)} all
 * end in {@link #attach}.
 */
public final class AdapterInjector {

    private AdapterInjector() {}

    /**
     * Attaches adapter {@code adapterName} to every layer of {@code root} that {@code config}
     * targets. Every layer's adapter is made before any is attached, so an init that changes the
     * base weights (PiSSA, OLoRA) refused on one layer has changed no other.
     *
     * @return the adapted layers by module path
     * @throws IllegalArgumentException when no module matches the targets (the message lists the
     *     module paths that exist), or a targeted module is not an adaptable layer
     */
    public static Map<String, LoraLayer> inject(Module root, String adapterName, LoraConfig config) {
        Random random = config.seed() == null ? Init.random() : new dev.lora4j.nn.CheckpointableRandom(config.seed());
        Map<String, Module> modules = root.namedModules();
        TargetSelection selection = TargetSelection.of(config);
        Map<String, LoraAdapter> prepared = new LinkedHashMap<>();
        for (String path : selection.select(modules)) {
            prepared.put(path, prepare(modules.get(path), path, adapterName, config.settingsFor(path), random));
        }
        Map<String, LoraLayer> adapted = new LinkedHashMap<>();
        prepared.forEach((path, adapter) -> {
            LoraLayer lora = LoraLayers.of((AdaptableLayer<?>) modules.get(path));
            LayerMutations.attach(lora, adapter);
            adapted.put(path, lora);
        });
        if (adapted.isEmpty()) {
            String why = selection.whyNothing(modules);
            throw new IllegalArgumentException("no module matches " + config.describeTargets() + (why == null ? "" : ": " + why)
                    + "; the model's modules are " + describe(modules));
        }
        return adapted;
    }

    /**
     * Attaches one adapter to one layer.
     *
     * @param where the layer's path or {@code Class#field}, for error messages
     * @throws IllegalArgumentException when the layer cannot be adapted or already has an adapter
     *     of that name
     */
    public static LoraLayer attach(Module layer, String where, String adapterName, AdapterSettings spec, Random random) {
        LoraAdapter adapter = prepare(layer, where, adapterName, spec, random);
        LoraLayer lora = LoraLayers.of((AdaptableLayer<?>) layer);
        LayerMutations.attach(lora, adapter);
        return lora;
    }

    /**
     * Creates one adapter for one layer without making it visible: set its factors' values, then
     * publish it with {@code LayerMutations.attach(LoraLayers.of((AdaptableLayer<?>) layer), adapter)}
     * ({@code LoraModel} attaches it directly). Loaders use this so that no thread ever runs a
     * half-loaded adapter.
     *
     * @throws IllegalArgumentException as {@link #attach}
     */
    public static LoraAdapter prepare(Module layer, String where, String adapterName, AdapterSettings spec, Random random) {
        if (!(layer instanceof AdaptableLayer<?> adaptable)) {
            throw new IllegalArgumentException(where + " is a " + layer.getClass().getName()
                    + ", which cannot be adapted; LoRA applies to Linear, Embedding and Conv2d layers");
        }
        LoraLayer lora = LayerMutations.attach(adaptable);
        if (lora.adapter(adapterName) != null) {
            throw new IllegalArgumentException(where + " already has an adapter named '" + adapterName + "'");
        }
        if (spec.dora() && !lora.supportsDora()) {
            if (lora.adapters().isEmpty()) {
                AdapterAttachments.detach(adaptable); // attached just now: leave the layer as it was
            }
            throw new IllegalArgumentException(where + " is a " + layer.getClass().getSimpleName() + " (" + layer
                    + "): DoRA (use_dora) is implemented for Linear, Embedding and ungrouped Conv2d layers only;"
                    + " leave it out of the targets of a DoRA adapter");
        }
        if (spec.init().changesBaseWeight() && !lora.supportsBaseDecomposition()) {
            if (lora.adapters().isEmpty()) {
                AdapterAttachments.detach(adaptable);
            }
            throw new IllegalArgumentException(where + " is a " + layer.getClass().getSimpleName() + " (" + layer
                    + "): init " + spec.init() + " (init_lora_weights " + spec.peftInit() + ") is implemented for"
                    + " Linear layers only, as in PEFT; leave it out of the targets or use another init");
        }
        try {
            return LayerMutations.newAdapter(lora, adapterName, spec, random);
        } catch (IllegalArgumentException e) {
            if (spec.init().changesBaseWeight()) {
                throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
            }
            throw e;
        }
    }

    private static String describe(Map<String, Module> modules) {
        List<String> lines = new ArrayList<>();
        modules.forEach((path, module) -> {
            if (!path.isEmpty()) {
                lines.add(path + " (" + module.getClass().getSimpleName() + ")");
            }
        });
        return lines.toString();
    }
}
