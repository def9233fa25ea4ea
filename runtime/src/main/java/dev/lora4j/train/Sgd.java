package dev.lora4j.train;

import dev.lora4j.nn.Parameter;
import dev.lora4j.train.internal.ParameterStates;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay,
 * computed as PyTorch's {@code torch.optim.SGD} (no dampening). With the group's rate lr and decay
 * wd:
 *
 * <pre>
 * d ← g + wd·p                          (L2: the decay goes through momentum)
 * b ← d at the first update, μ·b + d afterwards     (only when μ &gt; 0)
 * d ← d + μ·b (Nesterov) or b (plain momentum)
 * p ← p − lr·d
 * </pre>
 *
 * <p>State — a scratch buffer, plus the momentum buffer b when μ &gt; 0 — is allocated at a
 * parameter's first update and updated in place afterwards.
 */
public final class Sgd extends GroupedOptimizer {

    private final double momentum;
    private final boolean nesterov;
    private final ParameterStates<State> states;

    /** Plain SGD. */
    public Sgd(List<ParameterGroup> groups) {
        this(groups, 0.0, false);
    }

    /**
     * SGD with momentum.
     *
     * @param momentum μ in [0, 1)
     * @param nesterov whether to use Nesterov momentum (needs μ &gt; 0)
     */
    public Sgd(List<ParameterGroup> groups, double momentum, boolean nesterov) {
        super(groups);
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("Sgd: momentum must be in [0, 1), got " + momentum);
        }
        if (nesterov && momentum == 0) {
            throw new IllegalArgumentException("Sgd: nesterov needs a positive momentum");
        }
        this.momentum = momentum;
        this.nesterov = nesterov;
        this.states = new ParameterStates<>(p -> new State(p, momentum > 0));
    }

    @Override
    protected void update(Parameter parameter, INDArray grad, double lr, double weightDecay) {
        State s = states.get(parameter);
        s.steps++;
        INDArray p = parameter.value();
        INDArray d = s.scratch;
        if (weightDecay != 0) {
            d.assign(p).muli(weightDecay).addi(grad);
        } else {
            d.assign(grad);
        }
        if (momentum == 0) {
            p.subi(d.muli(lr));
            return;
        }
        if (s.first) {
            s.buffer.assign(d);
            s.first = false;
        } else {
            s.buffer.muli(momentum).addi(d);
        }
        if (nesterov) {
            p.subi(d.muli(lr));
            p.subi(d.assign(s.buffer).muli(lr * momentum));
        } else {
            p.subi(d.assign(s.buffer).muli(lr));
        }
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
        return new ParameterState(s.steps, s.buffer == null || s.first ? Map.of()
                : Map.of("momentum_buffer", s.buffer.dup()));
    }

    @Override
    public void importState(Parameter parameter, ParameterState state) {
        INDArray buffer = state.buffers().get("momentum_buffer");
        if (state.buffers().size() > (buffer == null ? 0 : 1) || (buffer != null && momentum == 0)) {
            throw new IllegalArgumentException("SGD" + (momentum == 0 ? " without momentum keeps no buffers" : " state holds"
                    + " at most momentum_buffer") + ", got " + state.buffers().keySet());
        }
        State s = states.get(parameter);
        if (buffer != null) {
            ParameterStates.assignChecked(s.buffer, buffer, "momentum_buffer");
        }
        s.first = buffer == null;
        s.steps = state.steps();
    }

    /** A scratch buffer and, with momentum, the momentum buffer. */
    private static final class State {
        final INDArray scratch;
        final @Nullable INDArray buffer;
        boolean first = true;
        long steps;

        State(Parameter p, boolean withMomentum) {
            scratch = Nd4j.zeros(p.dataType(), p.shape());
            buffer = withMomentum ? Nd4j.zeros(p.dataType(), p.shape()) : null;
        }
    }
}
