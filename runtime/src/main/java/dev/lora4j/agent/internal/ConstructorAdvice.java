package dev.lora4j.agent.internal;

import net.bytebuddy.asm.Advice;

/**
 * Inlined at the end of every constructor of a matched class: hands the new object to
 * {@link AgentHooks#constructed}. Exceptions are not caught, so a field that cannot be adapted
 * fails the constructor. The forward pass is not touched.
 */
final class ConstructorAdvice {

    private ConstructorAdvice() {}

    @Advice.OnMethodExit
    static void exit(@Advice.This Object self) {
        AgentHooks.constructed(self);
    }
}
