package dev.lora4j.spark;

import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Supplier;

/**
 * Values loaded once per JVM and shared by every Spark task that runs in it: the frozen base
 * weights of a model, so that the tasks of one executor hold one copy of them. Shared values must
 * never be written (a frozen base is not, until someone merges an adapter into it).
 */
public final class ExecutorShared {

    private static final ConcurrentMap<String, Object> VALUES = new ConcurrentHashMap<>();

    private ExecutorShared() {}

    /**
     * The value under {@code key}, loaded by {@code loader} the first time in this JVM (once, even
     * when tasks ask at the same time).
     *
     * @throws ClassCastException when the key holds a value of another type
     */
    public static <T> T get(String key, Class<T> type, Supplier<? extends T> loader) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(loader, "loader");
        Object value = VALUES.computeIfAbsent(key, k -> Objects.requireNonNull(loader.get(),
                () -> "the loader of shared value '" + k + "' returned null"));
        return type.cast(value);
    }

    /** Forgets the value under {@code key} (the next {@link #get} loads it again). */
    public static void remove(String key) {
        VALUES.remove(key);
    }
}
