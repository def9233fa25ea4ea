package dev.lora4j.agent.internal;

import dev.lora4j.api.LoraIndex;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * The class names listed in the {@link LoraIndex lora4j indexes} a class loader sees, read once per
 * loader. A malformed index is reported once and treated as empty (the annotation fallback still
 * finds its classes).
 */
final class IndexedClasses {

    private final Map<ClassLoader, Set<String>> byLoader = new WeakHashMap<>();

    /** Whether an index visible to {@code loader} lists {@code className}. */
    boolean lists(ClassLoader loader, String className) {
        return loader != null && names(loader).contains(className);
    }

    private Set<String> names(ClassLoader loader) {
        Set<String> names;
        synchronized (byLoader) {
            names = byLoader.get(loader);
        }
        if (names == null) {
            // read outside the lock: a loader may load classes (and so call back here) while reading
            names = read(loader);
            synchronized (byLoader) {
                Set<String> raced = byLoader.putIfAbsent(loader, names);
                if (raced != null) {
                    names = raced;
                }
            }
        }
        return names;
    }

    private static Set<String> read(ClassLoader loader) {
        try {
            return Set.copyOf(LoraIndex.load(loader).keySet());
        } catch (RuntimeException e) {
            AgentLog.warning("cannot read " + LoraIndex.RESOURCE + " through " + loader
                    + "; its classes are found through the @LoRA annotation instead: " + e.getMessage());
            return Set.of();
        }
    }
}
