package dev.lora4j.lora;

import dev.lora4j.nn.Module;

/**
 * Puts adapters on a model. The default freezes the base and attaches adapters as
 * {@code Lora.wrap} does; a Guice binding can replace it (e.g. to log, or to add adapters
 * through another path).
 */
@FunctionalInterface
public interface AdapterFactory {

    /** Adapts {@code model} as {@code config} says and returns the adapted model. */
    <M extends Module> LoraModel<M> wrap(M model, LoraConfig config);

    /** What {@code Lora.wrap} does: {@link LoraModel#wrap(Module, String, LoraConfig)} as adapter {@code default}. */
    static AdapterFactory standard() {
        return new AdapterFactory() {
            @Override
            public <M extends Module> LoraModel<M> wrap(M model, LoraConfig config) {
                return LoraModel.wrap(model, LoraModel.DEFAULT_ADAPTER, config);
            }
        };
    }
}
