package dev.lora4j;

import dev.lora4j.inject.AnnotationInjector;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Module;

/**
 * The front door of lora4j.
 *
 * <ul>
 *   <li>{@link #wrap}: adapters on the layers a {@link LoraConfig} targets (PEFT's
 *       {@code get_peft_model});
 *   <li>{@link #inject}: adapters on the {@code @LoRA} fields, without the agent;
 *   <li>{@link #adopt}: a model whose adapters the agent already attached at construction.
 * </ul>
 */
public final class Lora {

    private Lora() {}

    /** Freezes {@code model} and attaches the adapter {@code default} where {@code config} says. */
    public static <M extends Module> LoraModel<M> wrap(M model, LoraConfig config) {
        return LoraModel.wrap(model, config);
    }

    /**
     * Attaches adapters to every {@code @LoRA} field in {@code model}'s module tree through
     * reflection (what the agent does at construction), then freezes everything else.
     */
    public static <M extends Module> LoraModel<M> inject(M model) {
        AnnotationInjector.injectTree(model);
        return LoraModel.adopt(model);
    }

    /** Takes over a model whose {@code @LoRA} fields the agent adapted at construction. */
    public static <M extends Module> LoraModel<M> adopt(M model) {
        return LoraModel.adopt(model);
    }
}
