package dev.lora4j.agent.internal;

import java.security.ProtectionDomain;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.description.annotation.AnnotationDescription;
import net.bytebuddy.description.field.FieldDescription;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.utility.JavaModule;

/**
 * Which classes get constructor advice: those declaring a field annotated {@code
 * dev.lora4j.api.LoRA} (compared by name, from the class file: nothing is loaded) get the {@code
 * @LoRA} advice; those a {@link dev.lora4j.agent.TargetSpec} names get the target advice.
 *
 * <p>Reading the fields costs nothing measurable beside Byte Buddy's description of the class
 * file, which every non-ignored class gets anyway: loading 10 300 classes (Scala, Kotlin, Guava,
 * Spark) under the agent took the same time with this check as with a compile-time index of
 * annotated classes in its place (BENCHMARKS.md), and Kotlin classes, which the annotation
 * processor does not see, are found the same way as Java ones.
 */
final class LoraTypeMatcher implements AgentBuilder.RawMatcher {

    /** The annotation, by name. */
    static final String LORA = "dev.lora4j.api.LoRA";

    private final TargetRegistry targets;

    LoraTypeMatcher(TargetRegistry targets) {
        this.targets = targets;
    }

    @Override
    public boolean matches(TypeDescription type, ClassLoader loader, JavaModule module,
            Class<?> classBeingRedefined, ProtectionDomain protectionDomain) {
        if (type.isInterface()) {
            return false;
        }
        return isTarget(type) || declaresLoraField(type);
    }

    /** Whether a target spec names {@code type}: it gets the target advice. */
    boolean isTarget(TypeDescription type) {
        return targets.names(type.getName());
    }

    /** Whether {@code type} declares a {@code @LoRA} field: it gets the {@code @LoRA} advice. */
    boolean isAnnotated(TypeDescription type) {
        return declaresLoraField(type);
    }

    /** Whether {@code type} itself declares a field annotated {@code @LoRA}. */
    static boolean declaresLoraField(TypeDescription type) {
        for (FieldDescription.InDefinedShape field : type.getDeclaredFields()) {
            for (AnnotationDescription annotation : field.getDeclaredAnnotations()) {
                if (annotation.getAnnotationType().getName().equals(LORA)) {
                    return true;
                }
            }
        }
        return false;
    }
}
