package dev.lora4j.agent.internal;

import dev.lora4j.inject.AnnotationInjector;

/**
 * What the instrumented constructors call. Public because the advice is inlined into user
 * classes; not an API.
 */
public final class AgentHooks {

    private AgentHooks() {}

    /**
     * Attaches adapters to the {@code @LoRA} fields of a freshly constructed object (those of its
     * class and superclasses that are set by now; a subclass constructor fills in the rest).
     *
     * @throws IllegalArgumentException naming {@code Class#field} when a field cannot be adapted
     */
    public static void constructed(Object self) {
        AnnotationInjector.injectOwnFields(self);
    }
}
