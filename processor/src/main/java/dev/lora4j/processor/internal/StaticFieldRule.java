package dev.lora4j.processor.internal;

import javax.lang.model.element.Modifier;

/** The field must not be static: adapters are attached to each instance's layers. */
public final class StaticFieldRule implements FieldRule {

    @Override
    public void check(LoraField field, Reporter reporter) {
        if (field.field().getModifiers().contains(Modifier.STATIC)) {
            reporter.error(field, Messages.staticField(field.where()));
        }
    }
}
