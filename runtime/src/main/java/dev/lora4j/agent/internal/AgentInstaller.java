package dev.lora4j.agent.internal;

import dev.lora4j.agent.AgentInstallation;
import dev.lora4j.agent.TargetSpec;
import dev.lora4j.lora.LoraConfig;
import java.lang.instrument.Instrumentation;
import java.lang.instrument.UnmodifiableClassException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The one installer every entry point calls: the first call installs the transformer built by
 * {@link LoraTransformer}, later calls return the same {@link AgentInstallation}. Target specs
 * given to any call are added to the one {@link TargetRegistry}.
 */
public final class AgentInstaller {

    private static final TargetRegistry TARGETS = new TargetRegistry();
    private static volatile Installation installed;

    private AgentInstaller() {}

    /** Installs the agent without target specs; see {@link #install(Instrumentation, AgentInstallation.Mode, List)}. */
    public static AgentInstallation install(Instrumentation instrumentation, AgentInstallation.Mode mode) {
        return install(instrumentation, mode, List.of());
    }

    /**
     * Adds {@code specs} and installs the agent unless it is installed already.
     *
     * <p>A spec added after installation applies to its classes when they load. A named class that is
     * already loaded is retransformed when the agent was attached at run time (self-attach,
     * {@code agentmain}); with {@code -javaagent} it cannot be, and the call fails (nothing is added).
     *
     * @param mode how the agent was started; classes already loaded are retransformed unless it is
     *     {@link AgentInstallation.Mode#PREMAIN}; ignored when the agent is installed already
     * @return the installation, the same object on every call
     * @throws IllegalArgumentException when a class is named by two specs
     * @throws IllegalStateException when a named class is already loaded and cannot be retransformed
     */
    public static synchronized AgentInstallation install(Instrumentation instrumentation, AgentInstallation.Mode mode,
            List<TargetSpec> specs) {
        Objects.requireNonNull(instrumentation, "instrumentation");
        Objects.requireNonNull(mode, "mode");
        if (installed == null) {
            TARGETS.add(specs);
            TransformationListener listener = new TransformationListener();
            boolean retransform = mode != AgentInstallation.Mode.PREMAIN;
            LoraTransformer transformer = new LoraTransformer(instrumentation, listener, TARGETS);
            instrumentation.addTransformer(transformer, retransform);
            if (retransform) {
                transformer.retransformLoaded();
            }
            installed = new Installation(mode, instrumentation, listener, retransform, TARGETS);
            return installed;
        }
        List<Class<?>> loaded = loadedClassesNewlyNamedBy(installed.instrumentation(), specs);
        if (!loaded.isEmpty() && !installed.retransforms()) {
            throw new IllegalStateException("cannot adapt " + loaded + " through a target spec: already loaded, and an agent "
                    + "started with -javaagent does not retransform; pass the spec as -javaagent:<lora4j jar>=config=<file>, "
                    + "add it before the class loads, or use Lora.wrap(model, config)");
        }
        List<TargetSpec> added = TARGETS.add(specs);
        if (!loaded.isEmpty()) {
            try {
                installed.instrumentation().retransformClasses(loaded.toArray(Class<?>[]::new));
            } catch (UnmodifiableClassException | RuntimeException e) {
                added.forEach(TARGETS::remove);
                throw new IllegalStateException("cannot retransform " + loaded + " for a target spec: " + e, e);
            }
        }
        return installed;
    }

    /** The installation, or {@code null} when the agent is not installed. */
    public static AgentInstallation installation() {
        return installed;
    }

    /**
     * The config of the target spec naming {@code modelClass} or its nearest named superclass (a
     * subclass is adapted when its named superclass's constructor ends), or {@code null}.
     */
    public static @Nullable LoraConfig targetConfig(Class<?> modelClass) {
        for (Class<?> type = modelClass; type != null; type = type.getSuperclass()) {
            TargetSpec spec = targets().forClass(type.getName());
            if (spec != null) {
                return spec.config();
            }
        }
        return null;
    }

    /** The target specs in force (whether or not the agent is installed). */
    static TargetRegistry targets() {
        return TARGETS;
    }

    /** Loaded classes that {@code specs} name and no spec in force names yet. */
    private static List<Class<?>> loadedClassesNewlyNamedBy(Instrumentation instrumentation, List<TargetSpec> specs) {
        Set<String> names = new HashSet<>();
        specs.forEach(spec -> spec.modelClasses().stream().filter(name -> !TARGETS.names(name)).forEach(names::add));
        List<Class<?>> loaded = new ArrayList<>();
        if (names.isEmpty()) {
            return loaded;
        }
        for (Class<?> type : instrumentation.getAllLoadedClasses()) {
            if (names.contains(type.getName())) {
                loaded.add(type);
            }
        }
        return loaded;
    }
}
