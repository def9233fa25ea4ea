package dev.lora4j.agent.internal;

import net.bytebuddy.asm.Advice;

/**
 * Inlined at the end of every constructor of a class a {@link dev.lora4j.agent.TargetSpec} names:
 * hands the new object and the constructor's declaring class to {@link
 * AgentHooks#constructedTarget}, which decides whether this is the outermost constructor. Exceptions
 * are not caught: a config that matches nothing fails the constructor.
 */
final class TargetConstructorAdvice {

    private TargetConstructorAdvice() {}

    @Advice.OnMethodExit
    static void exit(@Advice.This Object self, @Advice.Origin("#t") String declaringType) {
        AgentHooks.constructedTarget(self, declaringType);
    }
}
