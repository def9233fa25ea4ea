package dev.lora4j.train;

import dev.lora4j.nn.Parameter;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Gradient norms and clipping. */
public final class GradientClipping {

    private GradientClipping() {}

    /**
     * The L2 norm of all gradients taken together, {@code √Σ‖g‖²}, accumulated in double precision.
     * Parameters without a gradient count as zero. The result is NaN or infinite when a gradient
     * holds a non-finite value (or the sum overflows).
     */
    public static double globalNorm(List<Parameter> parameters) {
        double sumOfSquares = 0;
        for (Parameter p : parameters) {
            INDArray g = p.grad();
            if (g != null) {
                double n = g.norm2Number().doubleValue();
                sumOfSquares += n * n;
            }
        }
        return Math.sqrt(sumOfSquares);
    }

    /**
     * Scales all gradients by {@code maxNorm / norm} when their {@link #globalNorm global norm}
     * exceeds {@code maxNorm}, so that it becomes exactly {@code maxNorm} (PyTorch adds 1e-6 to the
     * norm; this does not). When the norm is not finite nothing is scaled: the NaN or infinity is
     * returned for the caller to decide (the {@link Trainer} skips the step or stops).
     *
     * <p>A scaled gradient is replaced by a new array rather than scaled in place, because a
     * gradient buffer may be shared with another tensor's.
     *
     * @param maxNorm positive
     * @return the norm before clipping
     */
    public static double clipByGlobalNorm(List<Parameter> parameters, double maxNorm) {
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("maxNorm must be positive and finite, got " + maxNorm);
        }
        double norm = globalNorm(parameters);
        if (Double.isFinite(norm) && norm > maxNorm) {
            double scale = maxNorm / norm;
            for (Parameter p : parameters) {
                INDArray g = p.grad();
                if (g != null) {
                    p.restoreGrad(g.mul(scale));
                }
            }
        }
        return norm;
    }
}
