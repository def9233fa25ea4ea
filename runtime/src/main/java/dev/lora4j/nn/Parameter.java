package dev.lora4j.nn;

import dev.lora4j.autograd.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A weight of a {@link Module}: a leaf tensor with a trainable flag. A frozen parameter collects no
 * gradient (no buffer is ever allocated for it) and optimizers keep no state for it.
 */
public final class Parameter extends Tensor {

    /** A trainable parameter holding {@code value} (not copied). */
    public Parameter(INDArray value) {
        this(value, true);
    }

    /** A parameter holding {@code value} (not copied). */
    public Parameter(INDArray value, boolean trainable) {
        super(value, trainable);
    }

    /** Whether the parameter trains. */
    public boolean isTrainable() {
        return requiresGrad();
    }

    /** Freezes ({@code false}) or unfreezes the parameter; freezing frees its gradient buffer. */
    public void setTrainable(boolean trainable) {
        setRequiresGrad(trainable);
    }

    /** Zeroes the gradient buffer, keeping it for the next step. */
    public void zeroGrad() {
        if (grad() != null) {
            grad().assign(0.0);
        }
    }

    /** Replaces the gradient buffer (e.g. when restoring a checkpoint). */
    public void restoreGrad(INDArray gradient) {
        setGrad(gradient);
    }

    /** The number of scalars. */
    public long count() {
        return value().length();
    }
}
