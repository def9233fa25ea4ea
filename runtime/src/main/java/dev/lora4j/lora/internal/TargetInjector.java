package dev.lora4j.lora.internal;

import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Module;

/**
 * Adapts a model the agent constructed from a {@link dev.lora4j.agent.TargetSpec}: what {@code
 * Lora.wrap} does (base frozen, adapter {@code default} on the targeted layers, bias mode and {@code
 * modules_to_save} applied), with errors prefixed by who asked. {@code Lora.adopt(model)} later
 * finds the spec's config through the agent's installation, from the model's class.
 */
public final class TargetInjector {

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
        try {
            return LoraModel.wrap(model, LoraModel.DEFAULT_ADAPTER, config);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(origin + ": " + e.getMessage(), e);
        }
    }
}
