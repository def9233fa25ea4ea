package dev.lora4j.agent.internal;

import dev.lora4j.agent.TargetSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@link TargetSpec}s in force in this JVM, by model class name. The type matcher asks it which
 * classes to instrument (by name, nothing is loaded); the constructor hook asks it for a class's
 * config. Specs are only added (all of a call's specs or none), never replaced: a class named by two
 * specs is an error naming both.
 */
public final class TargetRegistry {

    private final Map<String, TargetSpec> byClass = new ConcurrentHashMap<>();
    private final List<TargetSpec> specs = new ArrayList<>();

    /**
     * Adds {@code added}, unless one with the same source and classes is there already (adding the
     * same file twice changes nothing).
     *
     * @return the specs that were new
     * @throws IllegalArgumentException when a class is already named by another spec; nothing is
     *     added then
     */
    synchronized List<TargetSpec> add(List<TargetSpec> added) {
        Map<String, TargetSpec> claims = new LinkedHashMap<>();
        List<TargetSpec> fresh = new ArrayList<>();
        for (TargetSpec spec : added) {
            if (isKnown(spec) || fresh.stream().anyMatch(f -> same(f, spec))) {
                continue;
            }
            for (String name : spec.modelClasses()) {
                TargetSpec other = byClass.containsKey(name) ? byClass.get(name) : claims.get(name);
                if (other != null) {
                    throw new IllegalArgumentException(name + " is named by two target specs, " + other.source()
                            + " and " + spec.source() + "; name each model class once");
                }
                claims.put(name, spec);
            }
            fresh.add(spec);
        }
        byClass.putAll(claims);
        specs.addAll(fresh);
        return fresh;
    }

    /** Removes a spec (for tests). */
    synchronized void remove(TargetSpec spec) {
        specs.remove(spec);
        spec.modelClasses().forEach(name -> byClass.remove(name, spec));
    }

    /** The spec naming {@code className}, or {@code null}. */
    TargetSpec forClass(String className) {
        return byClass.get(className);
    }

    /** Whether a spec names {@code className}. */
    boolean names(String className) {
        return byClass.containsKey(className);
    }

    /** The specs, in the order added. */
    synchronized List<TargetSpec> specs() {
        return List.copyOf(specs);
    }

    private boolean isKnown(TargetSpec spec) {
        return specs.stream().anyMatch(s -> same(s, spec));
    }

    private static boolean same(TargetSpec a, TargetSpec b) {
        return a == b || a.source().equals(b.source()) && a.modelClasses().equals(b.modelClasses());
    }
}
