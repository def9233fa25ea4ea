package dev.lora4j.agent.internal;

import static net.bytebuddy.matcher.ElementMatchers.isConstructor;

import java.io.IOException;
import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.asm.AsmVisitorWrapper;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.ClassFileLocator;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.dynamic.scaffold.MethodGraph;
import net.bytebuddy.implementation.Implementation;
import net.bytebuddy.pool.TypePool;
import org.jspecify.annotations.Nullable;

/**
 * The agent's class file transformer: adds constructor-exit advice to the classes {@link
 * LoraTypeMatcher} picks, in place (no new members, so no class-format changes, and
 * retransformation stays possible).
 *
 * <p>Every class a program loads passes through {@link #transform}, so it does as little as it can
 * for the others: the JDK's and the platform's classes and {@link #IGNORED_PREFIXES whole package
 * families} are passed by name, and the rest by a byte search of the class file for {@code
 * @LoRA}'s descriptor (or a target spec's class name) before Byte Buddy describes anything. Only
 * a class that passes is described from its class file and the class files of its loader (nothing is
 * loaded) and woven. Byte Buddy's {@code AgentBuilder} did the same through its matchers, but
 * building one took 320–360 ms of a 690–790 ms start (BENCHMARKS.md, "The agent's start").
 */
public final class LoraTransformer implements ClassFileTransformer {

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

    /** Rewrites class files in place: no new fields, methods or types, as a retransformation requires. */
    private static final ByteBuddy IN_PLACE = new ByteBuddy()
            .with(Implementation.Context.Disabled.Factory.INSTANCE)
            .with(MethodGraph.Compiler.ForDeclaredMethods.INSTANCE);

    private final Instrumentation instrumentation;
    private final LoraTypeMatcher matcher;
    private final TransformationListener listener;
    /** Set while this thread weaves: a class loaded meanwhile (Byte Buddy's own) is passed. */
    private final ThreadLocal<Boolean> weaving = new ThreadLocal<>();

    /**
     * A transformer for {@code instrumentation}, not yet added to it.
     *
     * @param listener records transformed classes and logs failures
     * @param targets the target specs, consulted by name at every class load (specs added later
     *     apply to classes loaded later)
     */
    LoraTransformer(Instrumentation instrumentation, TransformationListener listener, TargetRegistry targets) {
        this.instrumentation = instrumentation;
        this.matcher = new LoraTypeMatcher(targets);
        this.listener = listener;
    }

    @Override
    public byte @Nullable [] transform(Module module, @Nullable ClassLoader loader, @Nullable String internalName,
            @Nullable Class<?> classBeingRedefined, @Nullable ProtectionDomain domain, byte[] classFile) {
        if (internalName == null) {
            return null;
        }
        String name = internalName.replace('/', '.');
        if (passedByName(loader, name) || !matcher.mayMatch(name, classFile) || weaving.get() != null) {
            return null;
        }
        weaving.set(Boolean.TRUE);
        try {
            byte[] woven = weave(loader, name, classFile);
            if (woven != null) {
                readEdgeToHooks(module);
                listener.transformed(name);
            }
            return woven;
        } catch (Throwable e) { // a transformer must not throw: the class loads as it was
            listener.failed(name, e);
            return null;
        } finally {
            weaving.remove();
        }
    }

    /** The class file with advice on every constructor, or null when the class gets none. */
    private byte @Nullable [] weave(ClassLoader loader, String name, byte[] classFile) {
        ClassFileLocator locator = new ClassFileLocator.Compound(ClassFileLocator.Simple.of(name, classFile),
                new ResourceLocator(loader));
        TypePool pool = new TypePool.Default(new TypePool.CacheProvider.Simple(), locator, TypePool.Default.ReaderMode.FAST);
        TypeDescription type = pool.describe(name).resolve();
        if (type.isSynthetic() || !matcher.matches(type)) {
            return null;
        }
        DynamicType.Builder<?> woven = IN_PLACE.decorate(type, locator);
        if (matcher.isAnnotated(type)) {
            woven = woven.visit(constructorExit());
        }
        if (matcher.isTarget(type)) {
            woven = woven.visit(targetExit());
        }
        return woven.make(pool).getBytes();
    }

    /** A woven class in a named module must read the module of the hooks its advice calls. */
    private void readEdgeToHooks(@Nullable Module module) {
        Module hooks = AgentHooks.class.getModule();
        if (module != null && module.isNamed() && !module.canRead(hooks)) {
            instrumentation.redefineModule(module, Set.of(hooks), Map.of(), Map.of(), Set.of(), Map.of());
        }
    }

    /**
     * Retransforms the classes loaded before a late attach that may get advice, one at a time (a
     * class that cannot be retransformed does not hold back the others); this transformer must be
     * added able to retransform.
     */
    void retransformLoaded() {
        for (Class<?> type : instrumentation.getAllLoadedClasses()) {
            if (mayNeedAdvice(type)) {
                try {
                    instrumentation.retransformClasses(type);
                } catch (Throwable e) {
                    listener.retransformFailed(type, e);
                }
            }
        }
    }

    private boolean mayNeedAdvice(Class<?> type) {
        ClassLoader loader = type.getClassLoader();
        if (passedByName(loader, type.getName()) || type.isArray() || type.isPrimitive() || type.isInterface()
                || type.isHidden() || !instrumentation.isModifiableClass(type)) {
            return false;
        }
        try {
            byte[] classFile = ResourceLocator.read(loader, type.getName());
            return classFile != null && matcher.mayMatch(type.getName(), classFile);
        } catch (IOException e) {
            return false; // no class file to read: a generated class, none of the user's models
        }
    }

    /**
     * Whether the class {@code name} of {@code loader} is passed without reading its class file: the
     * boot and platform loaders define the JDK, and {@link #isIgnored} names the rest.
     */
    private static boolean passedByName(@Nullable ClassLoader loader, String name) {
        return loader == null || loader == ClassLoader.getPlatformClassLoader() || isIgnored(name);
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

    /** The advice on every constructor of a class with {@code @LoRA} fields. */
    static AsmVisitorWrapper constructorExit() {
        return Advices.CONSTRUCTOR_EXIT;
    }

    /** The advice on every constructor of a class a target spec names. */
    static AsmVisitorWrapper targetExit() {
        return Advices.TARGET_EXIT;
    }

    /** The two advices, built once, when the first class is woven; read from this jar's class files. */
    private static final class Advices {
        private static final ClassFileLocator OWN = new ResourceLocator(LoraTransformer.class.getClassLoader());
        private static final TypePool POOL = new TypePool.Default(new TypePool.CacheProvider.Simple(), OWN,
                TypePool.Default.ReaderMode.FAST);
        static final AsmVisitorWrapper CONSTRUCTOR_EXIT = advice("dev.lora4j.agent.internal.ConstructorAdvice");
        static final AsmVisitorWrapper TARGET_EXIT = advice("dev.lora4j.agent.internal.TargetConstructorAdvice");

        private static AsmVisitorWrapper advice(String adviceClass) {
            return Advice.to(POOL.describe(adviceClass).resolve(), OWN).on(isConstructor());
        }
    }
}
