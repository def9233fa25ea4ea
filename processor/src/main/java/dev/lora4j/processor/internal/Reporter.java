package dev.lora4j.processor.internal;

import javax.annotation.processing.Messager;
import javax.lang.model.element.AnnotationValue;
import javax.tools.Diagnostic;

/**
 * Reports errors on annotated fields, pinned to the annotation (and to the offending attribute
 * value when it is written in source).
 */
public final class Reporter {

    private final Messager messager;

    /** @param messager where diagnostics go */
    public Reporter(Messager messager) {
        this.messager = messager;
    }

    /** Reports an error about the whole annotation on {@code field}. */
    public void error(LoraField field, String message) {
        messager.printMessage(Diagnostic.Kind.ERROR, message, field.field(), field.annotation());
    }

    /** Reports an error about one attribute of the annotation on {@code field}. */
    public void error(LoraField field, String attribute, String message) {
        AnnotationValue value = field.explicitValue(attribute);
        if (value == null) {
            error(field, message);
            return;
        }
        messager.printMessage(Diagnostic.Kind.ERROR, message, field.field(), field.annotation(), value);
    }
}
