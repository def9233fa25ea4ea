package dev.lora4j.processor.internal;

/** {@code dropout} must lie in {@code [0, 1)}; NaN is rejected. */
public final class DropoutRule implements FieldRule {

    @Override
    public void check(LoraField field, Reporter reporter) {
        if (field.value("dropout") instanceof Number n) {
            double dropout = n.doubleValue();
            if (!(dropout >= 0 && dropout < 1)) {
                reporter.error(field, "dropout", Messages.dropoutOutOfRange(field.where(), dropout));
            }
        }
    }
}
