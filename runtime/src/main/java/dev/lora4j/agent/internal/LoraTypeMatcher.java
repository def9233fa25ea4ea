package dev.lora4j.agent.internal;

import java.nio.charset.StandardCharsets;
import net.bytebuddy.description.annotation.AnnotationDescription;
import net.bytebuddy.description.field.FieldDescription;
import net.bytebuddy.description.type.TypeDescription;

/**
 * Which classes get constructor advice: those declaring a field annotated {@code
 * dev.lora4j.api.LoRA} (compared by name, from the class file: nothing is loaded) get the {@code
 * @LoRA} advice; those a {@link dev.lora4j.agent.TargetSpec} names get the target advice.
 *
 * <p>A class file that does not contain the annotation's descriptor anywhere cannot declare such a
 * field, so {@link #mayMatch} rules out almost every class a program loads with a byte search,
 * before Byte Buddy describes anything; Kotlin classes, which the annotation processor does not
 * see, are found the same way as Java ones.
 */
final class LoraTypeMatcher {

    /** The annotation, by name. */
    static final String LORA = "dev.lora4j.api.LoRA";

    /** The annotation's descriptor as a class file's constant pool holds it (ASCII, so modified UTF-8 alike). */
    private static final byte[] LORA_DESCRIPTOR = ("L" + LORA.replace('.', '/') + ";").getBytes(StandardCharsets.US_ASCII);

    private final TargetRegistry targets;

    LoraTypeMatcher(TargetRegistry targets) {
        this.targets = targets;
    }

    /**
     * Whether the class {@code name} (binary name) with this class file may get advice: a target
     * spec names it, or its class file mentions {@code @LoRA}'s descriptor. False means no.
     */
    boolean mayMatch(String name, byte[] classFile) {
        return targets.names(name) || contains(classFile, LORA_DESCRIPTOR);
    }

    /** Whether {@code type} gets advice: a class (not an interface) that a spec names or that declares a {@code @LoRA} field. */
    boolean matches(TypeDescription type) {
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

    /** Whether {@code bytes} contains {@code pattern}. */
    static boolean contains(byte[] bytes, byte[] pattern) {
        byte first = pattern[0];
        int last = bytes.length - pattern.length;
        outer:
        for (int i = 0; i <= last; i++) {
            if (bytes[i] != first) {
                continue;
            }
            for (int j = 1; j < pattern.length; j++) {
                if (bytes[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
