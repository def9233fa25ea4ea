package dev.lora4j.agent.internal;

import static net.bytebuddy.matcher.ElementMatchers.any;
import static net.bytebuddy.matcher.ElementMatchers.isBootstrapClassLoader;
import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.isExtensionClassLoader;
import static net.bytebuddy.matcher.ElementMatchers.isSynthetic;
import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;
import static net.bytebuddy.matcher.ElementMatchers.named;

import java.lang.instrument.Instrumentation;
import java.util.List;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.asm.AsmVisitorWrapper;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.matcher.ElementMatcher;

/**
 * The only place the Byte Buddy {@link AgentBuilder} is configured. Cheap strategies throughout:
 * types are described from their class files only (no class loading for matching), the class
 * file is decorated in place with advice (no new members, so no class-format changes and
 * retransformation stays possible), and whole package families are ignored before matching.
 */
public final class LoraAgentBuilder {

    /** Package prefixes that are never instrumented: the JDK, lora4j's runtime and its libraries. */
    static final List<String> IGNORED_PREFIXES = List.of(
            "java.", "javax.", "jdk.", "sun.", "com.sun.", "org.w3c.", "org.xml.", "org.ietf.", "org.jcp.",
            "net.bytebuddy.",
            "org.nd4j.", "org.bytedeco.", "com.google.flatbuffers.", "org.apache.commons.", "org.slf4j.",
            "com.google.common.", "com.google.inject.", "com.fasterxml.jackson.",
            "org.junit.", "org.opentest4j.", "org.apiguardian.", "org.apache.maven.surefire.",
            "dev.lora4j.api.", "dev.lora4j.agent.", "dev.lora4j.autograd.",
            "dev.lora4j.lora.", "dev.lora4j.nn.", "dev.lora4j.guice.", "dev.lora4j.train.", "dev.lora4j.io.",
            "dev.lora4j.cli.", "dev.lora4j.processor.", "dev.lora4j.dsl.", "dev.lora4j.pipeline.");

    /** The constructor-exit advice for {@code @LoRA} classes, built once. */
    private static final AsmVisitorWrapper CONSTRUCTOR_EXIT = Advice.to(ConstructorAdvice.class).on(isConstructor());

    /** The constructor-exit advice for classes a target spec names, built once. */
    private static final AsmVisitorWrapper TARGET_EXIT = Advice.to(TargetConstructorAdvice.class).on(isConstructor());

    private LoraAgentBuilder() {}

    /**
     * The agent's transformer, ready for {@code installOn(instrumentation)}.
     *
     * @param retransform whether classes loaded before installation are retransformed (for a late
     *     attach); a {@code -javaagent:} start has nothing to catch up with
     * @param listener records transformed classes and logs failures
     * @param targets the target specs, consulted by name at every class load (specs added later
     *     apply to classes loaded later)
     */
    public static AgentBuilder create(Instrumentation instrumentation, boolean retransform, TransformationListener listener,
            TargetRegistry targets) {
        LoraTypeMatcher matcher = new LoraTypeMatcher(targets);
        AgentBuilder builder = new AgentBuilder.Default()
                .disableClassFormatChanges()
                .with(AgentBuilder.TypeStrategy.Default.DECORATE)
                .with(AgentBuilder.PoolStrategy.Default.FAST)
                .with(AgentBuilder.DescriptionStrategy.Default.POOL_ONLY)
                .with(listener);
        if (retransform) {
            builder = builder
                    .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                    // one class per batch: a class that cannot be retransformed does not hold back the others
                    .with(AgentBuilder.RedefinitionStrategy.BatchAllocator.ForFixedSize.ofSize(1))
                    .with(listener.redefinitions());
        }
        return builder
                .ignore(ignoredTypes())
                .or(any(), isBootstrapClassLoader().or(isExtensionClassLoader()))
                .type(matcher)
                .transform((type, description, loader, module, domain) -> {
                    DynamicType.Builder<?> woven = type;
                    if (matcher.isAnnotated(description)) {
                        woven = woven.visit(CONSTRUCTOR_EXIT);
                    }
                    if (matcher.isTarget(description)) {
                        woven = woven.visit(TARGET_EXIT);
                    }
                    return woven;
                })
                .assureReadEdgeTo(instrumentation, AgentHooks.class);
    }

    /** The advice on every constructor of a class with {@code @LoRA} fields. */
    static AsmVisitorWrapper constructorExit() {
        return CONSTRUCTOR_EXIT;
    }

    /** The advice on every constructor of a class a target spec names. */
    static AsmVisitorWrapper targetExit() {
        return TARGET_EXIT;
    }

    /** Whether the agent never instruments {@code className}, whatever names it. */
    public static boolean isIgnored(String className) {
        if (className.equals("dev.lora4j.Lora")) {
            return true;
        }
        for (String prefix : IGNORED_PREFIXES) {
            if (className.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Types the agent never looks at: {@link #IGNORED_PREFIXES}, the {@code Lora} facade, synthetic
     * types (besides everything the bootstrap and platform class loaders define).
     */
    static ElementMatcher.Junction<TypeDescription> ignoredTypes() {
        ElementMatcher.Junction<TypeDescription> ignored = named("dev.lora4j.Lora");
        for (String prefix : IGNORED_PREFIXES) {
            ignored = ignored.or(nameStartsWith(prefix));
        }
        return ignored.or(isSynthetic());
    }
}
