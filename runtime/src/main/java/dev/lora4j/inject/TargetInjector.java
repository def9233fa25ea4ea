package dev.lora4j.inject;

import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Module;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.WeakHashMap;

/**
 * Adapts a model the agent constructed from a {@link dev.lora4j.agent.TargetSpec}: what
 * {@link LoraModel#wrap(Module, LoraConfig)} does (base frozen, adapter {@code default} on the
 * targeted layers, bias mode and {@code modules_to_save} applied), and remembers the config so that
 * {@code Lora.adopt(model)} later reports it rather than a description rebuilt from the layers. The
 * memory is weak: it does not keep models alive.
 */
public final class TargetInjector {

    private static final Map<Module, LoraConfig> CONFIGS = Collections.synchronizedMap(new WeakHashMap<>());

    private TargetInjector() {}

    /**
     * Attaches adapter {@code default} to the layers of {@code model} that {@code config} targets and
     * freezes the rest.
     *
     * @param origin who asks, put in front of error messages (e.g. the spec file and class)
     * @throws IllegalArgumentException prefixed with {@code origin}, when no module matches (the
     *     message lists the module paths that exist) or a targeted module cannot be adapted
     */
    public static <M extends Module> LoraModel<M> inject(M model, LoraConfig config, String origin) {
        LoraModel<M> lora;
        try {
            lora = LoraModel.wrap(model, LoraModel.DEFAULT_ADAPTER, config);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(origin + ": " + e.getMessage(), e);
        }
        CONFIGS.put(model, config);
        return lora;
    }

    /** The config {@link #inject} adapted {@code model} with, if it did. */
    public static Optional<LoraConfig> configOf(Module model) {
        return Optional.ofNullable(CONFIGS.get(model));
    }
}
