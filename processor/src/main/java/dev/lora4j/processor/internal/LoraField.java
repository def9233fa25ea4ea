package dev.lora4j.processor.internal;

import java.util.Map;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.AnnotationValue;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.TypeElement;
import javax.lang.model.element.VariableElement;
import javax.lang.model.util.Elements;

/**
 * One {@code @LoRA}-annotated field under check: the field, its annotation, and the annotation's
 * values (explicit ones, for pinning diagnostics, and effective ones, defaults included).
 */
public final class LoraField {

    private final VariableElement field;
    private final AnnotationMirror annotation;
    private final String where;
    private final Map<? extends ExecutableElement, ? extends AnnotationValue> explicit;
    private final Map<? extends ExecutableElement, ? extends AnnotationValue> effective;

    /**
     * @param field the annotated field
     * @param annotation its {@code @LoRA} annotation
     * @param elements the processing environment's element utilities
     */
    public LoraField(VariableElement field, AnnotationMirror annotation, Elements elements) {
        this.field = field;
        this.annotation = annotation;
        this.where = ownerName(field) + "#" + field.getSimpleName();
        this.explicit = annotation.getElementValues();
        this.effective = elements.getElementValuesWithDefaults(annotation);
    }

    private static String ownerName(VariableElement field) {
        if (field.getEnclosingElement() instanceof TypeElement type) {
            String name = type.getQualifiedName().toString();
            return name.isEmpty() ? type.getSimpleName().toString() : name;
        }
        return String.valueOf(field.getEnclosingElement());
    }

    /** The annotated field. */
    public VariableElement field() {
        return field;
    }

    /** The field's {@code @LoRA} annotation. */
    public AnnotationMirror annotation() {
        return annotation;
    }

    /** {@code com.x.Model#field}, for messages. */
    public String where() {
        return where;
    }

    /** The attribute's value as written in source, or {@code null} when it is left at its default. */
    public AnnotationValue explicitValue(String attribute) {
        return find(explicit, attribute);
    }

    /**
     * The attribute's effective value (default included), or {@code null} when it is unknown (for
     * example an erroneous expression javac already reported).
     */
    public Object value(String attribute) {
        AnnotationValue v = find(effective, attribute);
        return v == null ? null : v.getValue();
    }

    private static AnnotationValue find(
            Map<? extends ExecutableElement, ? extends AnnotationValue> values, String attribute) {
        for (Map.Entry<? extends ExecutableElement, ? extends AnnotationValue> e : values.entrySet()) {
            if (e.getKey().getSimpleName().contentEquals(attribute)) {
                return e.getValue();
            }
        }
        return null;
    }
}
