package dev.lora4j.agent.internal;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import net.bytebuddy.pool.TypePool;

/**
 * Records which classes were instrumented and logs, naming the class, any that could not be. A
 * failure leaves that class as it was (its objects get no adapters at construction) and does not
 * affect other classes.
 */
public final class TransformationListener {

    private final Set<String> transformed = ConcurrentHashMap.newKeySet();

    /** Creates a listener with nothing recorded. */
    public TransformationListener() {}

    /** Records that {@code className}'s constructors got advice. */
    void transformed(String className) {
        transformed.add(className);
    }

    /** Logs that {@code className} could not be instrumented (it is left as it was). */
    void failed(String className, Throwable error) {
        if (error instanceof TypePool.Resolution.NoSuchTypeException) {
            // a class file the class needs could not be read (a generated class without class file,
            // e.g. a container's proxy seen during retransformation): it is none of the user's models
            AgentLog.debug("lora4j agent skipped " + className + ", whose class file cannot be read: " + error);
            return;
        }
        AgentLog.warning("lora4j agent could not instrument " + className + "; its @LoRA fields get no adapters "
                + "at construction (Lora.inject(model) still works): " + error, error);
    }

    /** Logs that the loaded {@code type} could not be retransformed after a late attach. */
    void retransformFailed(Class<?> type, Throwable error) {
        AgentLog.warning("lora4j agent could not retransform " + type.getName() + "; objects of it get no adapters "
                + "at construction (Lora.inject(model) still works): " + error, error);
    }

    /** Names of the classes instrumented so far; a snapshot. */
    Set<String> transformed() {
        return Set.copyOf(transformed);
    }
}
