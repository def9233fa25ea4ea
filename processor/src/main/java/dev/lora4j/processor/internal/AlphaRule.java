package dev.lora4j.processor.internal;

/** {@code alpha} must be finite and greater than 0; NaN means unset and is accepted. */
public final class AlphaRule implements FieldRule {

    @Override
    public void check(LoraField field, Reporter reporter) {
        if (field.value("alpha") instanceof Number n) {
            double alpha = n.doubleValue();
            if (!Double.isNaN(alpha) && (alpha <= 0 || Double.isInfinite(alpha))) {
                reporter.error(field, "alpha", Messages.alphaNotPositive(field.where(), alpha));
            }
        }
    }
}
