package dev.lora4j.agent.internal;

import java.security.ProtectionDomain;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.description.annotation.AnnotationDescription;
import net.bytebuddy.description.field.FieldDescription;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.utility.JavaModule;

/**
 * Which classes get constructor advice: those an index lists by name and, for classes compiled
 * without the processor, those declaring a field annotated {@code dev.lora4j.api.LoRA} (compared by
 * name, from the class file: nothing is loaded) get the {@code @LoRA} advice; those a {@link
 * dev.lora4j.agent.TargetSpec} names get the target advice.
 */
final class LoraTypeMatcher implements AgentBuilder.RawMatcher {

    /** The annotation, by name. */
    static final String LORA = "dev.lora4j.api.LoRA";

    private final IndexedClasses index;
    private final FallbackNotice notice;
    private final TargetRegistry targets;

    LoraTypeMatcher(IndexedClasses index, FallbackNotice notice, TargetRegistry targets) {
        this.index = index;
        this.notice = notice;
        this.targets = targets;
    }

    @Override
    public boolean matches(TypeDescription type, ClassLoader loader, JavaModule module,
            Class<?> classBeingRedefined, ProtectionDomain protectionDomain) {
        if (type.isInterface()) {
            return false;
        }
        if (isTarget(type)) {
            return true;
        }
        if (index.lists(loader, type.getName())) {
            return true;
        }
        if (declaresLoraField(type)) {
            notice.used(type.getName());
            return true;
        }
        return false;
    }

    /** Whether a target spec names {@code type}: it gets the target advice. */
    boolean isTarget(TypeDescription type) {
        return targets.names(type.getName());
    }

    /** Whether {@code type} is indexed or declares a {@code @LoRA} field: it gets the {@code @LoRA} advice. */
    boolean isAnnotated(TypeDescription type, ClassLoader loader) {
        return index.lists(loader, type.getName()) || declaresLoraField(type);
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
