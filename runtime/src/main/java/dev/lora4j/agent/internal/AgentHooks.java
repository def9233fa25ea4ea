package dev.lora4j.agent.internal;

import dev.lora4j.agent.TargetSpec;
import dev.lora4j.lora.internal.AnnotationInjector;
import dev.lora4j.lora.internal.TargetInjector;
import dev.lora4j.nn.Module;
import java.util.Iterator;

/**
 * What the instrumented constructors call. Public because the advice is inlined into user
 * classes; not an API.
 */
public final class AgentHooks {

    private static final StackWalker STACK = StackWalker.getInstance();
    private static final String CONSTRUCTOR = "<init>";

    private AgentHooks() {}

    /**
     * Attaches adapters to the {@code @LoRA} fields of a freshly constructed object (those of its
     * class and superclasses that are set by now; a subclass constructor fills in the rest).
     *
     * @throws IllegalArgumentException naming {@code Class#field} when a field cannot be adapted
     */
    public static void constructed(Object self) {
        AnnotationInjector.injectOwnFields(self);
    }

    /**
     * Called when a constructor of {@code declaringType}, a class a {@link TargetSpec} names,
     * finishes. Does nothing unless this is the outermost target constructor on the stack, i.e. no
     * constructor of a named class is still running below it: not a subclass constructor (which
     * exits later, with the whole object built), not the constructor that called this one through
     * {@code this(...)}, and not the constructor of an enclosing named model that is building this
     * one as a part (its own adaptation covers its whole module tree). Otherwise it adapts the
     * object's whole module tree as the spec of {@code declaringType} says, freezing the base.
     *
     * @throws IllegalArgumentException naming the spec and class when the spec targets no module
     *     (the message lists the module paths) or a targeted module cannot be adapted
     * @throws IllegalStateException when the named class is not a {@link Module}
     */
    public static void constructedTarget(Object self, String declaringType) {
        TargetRegistry targets = AgentInstaller.targets();
        TargetSpec spec = targets.forClass(declaringType);
        if (spec == null || insideAnotherTargetConstructor(declaringType, targets)) {
            return;
        }
        String origin = "lora4j agent, " + spec.source() + ", new " + self.getClass().getName();
        if (!(self instanceof Module model)) {
            throw new IllegalStateException(origin + ": " + declaringType + " is not a " + Module.class.getName()
                    + "; name model classes only");
        }
        TargetInjector.inject(model, spec.config(), origin);
    }

    /**
     * Whether, below the exiting constructor of {@code declaringType} on this thread's stack,
     * another constructor of a class in {@code targets} is running.
     */
    static boolean insideAnotherTargetConstructor(String declaringType, TargetRegistry targets) {
        return STACK.walk(frames -> {
            Iterator<StackWalker.StackFrame> it = frames.iterator();
            while (it.hasNext()) {
                StackWalker.StackFrame frame = it.next();
                if (frame.getMethodName().equals(CONSTRUCTOR) && frame.getClassName().equals(declaringType)) {
                    break; // the exiting constructor itself (the advice is inlined into it)
                }
            }
            while (it.hasNext()) {
                StackWalker.StackFrame frame = it.next();
                if (frame.getMethodName().equals(CONSTRUCTOR) && targets.names(frame.getClassName())) {
                    return true;
                }
            }
            return false;
        });
    }
}
