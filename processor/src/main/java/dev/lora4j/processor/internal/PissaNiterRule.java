package dev.lora4j.processor.internal;

import javax.lang.model.element.VariableElement;

/**
 * {@code pissaNiter} is {@code -1} (PiSSA with the exact SVD) or a number of subspace iterations
 * of at least 0, and a number of iterations only goes with {@code init = LoraInit.PISSA}.
 */
public final class PissaNiterRule implements FieldRule {

    @Override
    public void check(LoraField field, Reporter reporter) {
        if (!(field.value("pissaNiter") instanceof Integer niter)) {
            return;
        }
        if (niter < -1) {
            reporter.error(field, "pissaNiter", Messages.pissaNiterNegative(field.where(), niter));
            return;
        }
        // an enum constant's annotation value is its VariableElement; anything else javac reports itself
        if (niter >= 0 && field.value("init") instanceof VariableElement init
                && !init.getSimpleName().contentEquals("PISSA")) {
            reporter.error(field, "pissaNiter", Messages.pissaNiterWithoutPissa(field.where(), niter,
                    init.getSimpleName().toString()));
        }
    }
}
