package dev.lora4j.train;

import dev.lora4j.nn.Parameter;
import dev.lora4j.train.internal.AdamWKernel;
import dev.lora4j.train.internal.ParameterStates;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Adam with decoupled weight decay (Loshchilov &amp; Hutter, "Decoupled Weight Decay
 * Regularization"), computed as PyTorch's {@code torch.optim.AdamW}. For each parameter with
 * gradient g, at its t-th update, with the group's rate lr and decay wd:
 *
 * <pre>
 * p ← p − lr·wd·p                      (decay, independent of the gradient)
 * m ← β₁·m + (1−β₁)·g
 * v ← β₂·v + (1−β₂)·g²
 * p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)
 * </pre>
 *
 * <p>Unlike an L2 term added to g, the decay is not divided by √v, so every weight shrinks by the
 * same fraction lr·wd. The step count t is kept per parameter, so a parameter that missed steps
 * (no gradient) is bias-corrected for the updates it actually had. State — m, v and one scratch
 * buffer, in the parameter's type — is allocated at a parameter's first update and updated in place
 * afterwards.
 */
public final class AdamW extends GroupedOptimizer {

    /** PyTorch's defaults. */
    public static final double DEFAULT_BETA1 = 0.9;
    /** PyTorch's defaults. */
    public static final double DEFAULT_BETA2 = 0.999;
    /** PyTorch's defaults. */
    public static final double DEFAULT_EPSILON = 1e-8;

    private final double beta1;
    private final double beta2;
    private final double epsilon;
    private final ParameterStates<State> states = new ParameterStates<>(State::new);

    /** AdamW with β = (0.9, 0.999) and ε = 1e-8. */
    public AdamW(List<ParameterGroup> groups) {
        this(groups, DEFAULT_BETA1, DEFAULT_BETA2, DEFAULT_EPSILON);
    }

    /**
     * AdamW with the given moment decay rates and ε.
     *
     * @param beta1 in [0, 1)
     * @param beta2 in [0, 1)
     * @param epsilon positive
     */
    public AdamW(List<ParameterGroup> groups, double beta1, double beta2, double epsilon) {
        super(groups);
        if (!(beta1 >= 0 && beta1 < 1)) {
            throw new IllegalArgumentException("AdamW: beta1 must be in [0, 1), got " + beta1);
        }
        if (!(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("AdamW: beta2 must be in [0, 1), got " + beta2);
        }
        if (!(epsilon > 0) || Double.isInfinite(epsilon)) {
            throw new IllegalArgumentException("AdamW: epsilon must be positive and finite, got " + epsilon);
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
    }

    @Override
    protected void update(Parameter parameter, INDArray grad, double lr, double weightDecay) {
        State s = states.get(parameter);
        s.step++;
        INDArray p = parameter.value();
        double bias1 = 1.0 - Math.pow(beta1, s.step);
        double bias2 = 1.0 - Math.pow(beta2, s.step);
        if (AdamWKernel.update(p, grad, s.m, s.v, 1.0 - lr * weightDecay, beta1, beta2, Math.sqrt(bias2), epsilon,
                lr / bias1)) {
            return;
        }
        if (weightDecay != 0) {
            p.muli(1.0 - lr * weightDecay);
        }
        // m ← β₁m + (1−β₁)g, written as β₁(m − g) + g so that no temporary is needed
        s.m.subi(grad).muli(beta1).addi(grad);
        INDArray scratch = s.scratch().assign(grad).muli(grad);
        s.v.subi(scratch).muli(beta2).addi(scratch);
        scratch.assign(s.v);
        Transforms.sqrt(scratch, false).divi(Math.sqrt(bias2)).addi(epsilon);
        scratch.rdivi(s.m).muli(lr / bias1);
        p.subi(scratch);
    }

    @Override
    public boolean hasState(Parameter parameter) {
        return states.contains(parameter);
    }

    @Override
    public @Nullable ParameterState exportState(Parameter parameter) {
        if (!states.contains(parameter)) {
            return null;
        }
        State s = states.get(parameter);
        return new ParameterState(s.step, Map.of("exp_avg", s.m.dup(), "exp_avg_sq", s.v.dup()));
    }

    @Override
    public void importState(Parameter parameter, ParameterState state) {
        INDArray m = state.buffers().get("exp_avg");
        INDArray v = state.buffers().get("exp_avg_sq");
        if (m == null || v == null || state.buffers().size() != 2) {
            throw new IllegalArgumentException("AdamW state needs exactly the buffers exp_avg and exp_avg_sq, got "
                    + state.buffers().keySet());
        }
        State s = states.get(parameter);
        ParameterStates.assignChecked(s.m, m, "exp_avg");
        ParameterStates.assignChecked(s.v, v, "exp_avg_sq");
        s.step = state.steps();
    }

    /** The number of updates {@code parameter} has had (0 without state). */
    public long stepCount(Parameter parameter) {
        return states.contains(parameter) ? states.get(parameter).step : 0;
    }

    /**
     * First and second moment estimates of one parameter, and a scratch buffer for the update in
     * whole-array operations (made at first use: the single-pass float32 update needs none).
     */
    private static final class State {
        final INDArray m;
        final INDArray v;
        private @Nullable INDArray scratch;
        long step;

        State(Parameter p) {
            m = Nd4j.zeros(p.dataType(), p.shape());
            v = Nd4j.zeros(p.dataType(), p.shape());
        }

        INDArray scratch() {
            if (scratch == null) {
                scratch = Nd4j.zeros(m.dataType(), m.shape());
            }
            return scratch;
        }
    }
}
