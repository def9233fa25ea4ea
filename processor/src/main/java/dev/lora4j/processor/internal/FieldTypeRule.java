package dev.lora4j.processor.internal;

/** The field's type must hold adaptable layers; see {@link LayerTypes}. */
public final class FieldTypeRule implements FieldRule {

    @Override
    public void check(LoraField field, Reporter reporter) {
        var type = field.field().asType();
        if (LayerTypes.check(type) == LayerTypes.Verdict.NOT_ADAPTABLE) {
            reporter.error(field, Messages.typeNotAdaptable(field.where(), type.toString(), LayerTypes.LAYERS));
        }
    }
}
