package dev.lora4j.agent.internal;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.pool.TypePool;
import net.bytebuddy.utility.JavaModule;

/**
 * Records which classes were instrumented and logs, naming the class, any that could not be. A
 * failure leaves that class as it was (its objects get no adapters at construction) and does not
 * affect other classes.
 */
public final class TransformationListener extends AgentBuilder.Listener.Adapter {

    private final Set<String> transformed = ConcurrentHashMap.newKeySet();

    /** Creates a listener with nothing recorded. */
    public TransformationListener() {}

    @Override
    public void onTransformation(TypeDescription type, ClassLoader loader, JavaModule module, boolean loaded,
            DynamicType dynamicType) {
        transformed.add(type.getName());
    }

    @Override
    public void onError(String typeName, ClassLoader loader, JavaModule module, boolean loaded, Throwable error) {
        if (error instanceof TypePool.Resolution.NoSuchTypeException) {
            // the matcher could not even read the class (a generated class without class file, e.g. a
            // container's proxy seen during retransformation): it is none of the user's models
            AgentLog.debug("lora4j agent skipped " + typeName + ", whose class file cannot be read: " + error);
            return;
        }
        AgentLog.warning("lora4j agent could not instrument " + typeName + "; its @LoRA fields get no adapters "
                + "at construction (Lora.inject(model) still works): " + error, error);
    }

    /** Names of the classes instrumented so far; a snapshot. */
    Set<String> transformed() {
        return Set.copyOf(transformed);
    }

    /** Logs a class that could not be retransformed after a late attach. */
    AgentBuilder.RedefinitionStrategy.Listener redefinitions() {
        return new AgentBuilder.RedefinitionStrategy.Listener.Adapter() {
            @Override
            public Iterable<? extends List<Class<?>>> onError(int index, List<Class<?>> batch, Throwable error,
                    List<Class<?>> types) {
                String names = batch.stream().map(Class::getName).collect(Collectors.joining(", "));
                AgentLog.warning("lora4j agent could not retransform " + names + "; objects of it get no adapters "
                        + "at construction (Lora.inject(model) still works): " + error, error);
                return List.of();
            }

            @Override
            public void onComplete(int amount, List<Class<?>> types, Map<List<Class<?>>, Throwable> failures) {}
        };
    }
}
