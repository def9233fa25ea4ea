package dev.lora4j.train;

import dev.lora4j.nn.Parameter;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A base for optimizers over {@link ParameterGroup}s: it holds the groups, implements
 * {@link #zeroGrad()}, checks the learning rate, and calls {@link #update} for each trainable
 * parameter that has a gradient (frozen ones and those without a gradient are skipped). A
 * parameter may belong to one group only.
 */
public abstract class GroupedOptimizer implements Optimizer {

    private final List<ParameterGroup> groups;

    /** An optimizer over {@code groups}. */
    protected GroupedOptimizer(List<ParameterGroup> groups) {
        this.groups = List.copyOf(groups);
        Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (ParameterGroup group : this.groups) {
            for (Parameter p : group.parameters()) {
                if (!seen.add(p)) {
                    throw new IllegalArgumentException("a parameter appears twice in the groups (again in '"
                            + group.name() + "'); each parameter must belong to one group");
                }
            }
        }
    }

    @Override
    public final void step(double learningRate) {
        if (!(learningRate >= 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be >= 0 and finite, got " + learningRate);
        }
        for (ParameterGroup group : groups) {
            double lr = learningRate * group.learningRateMultiplier();
            for (Parameter p : group.parameters()) {
                INDArray grad = p.grad();
                if (grad != null && p.isTrainable()) {
                    update(p, grad, lr, group.weightDecay());
                }
            }
        }
    }

    /**
     * Updates one parameter in place.
     *
     * @param grad its gradient, never {@code null}; must not be modified
     * @param learningRate the group's effective rate
     * @param weightDecay the group's decay coefficient
     */
    protected abstract void update(Parameter parameter, INDArray grad, double learningRate, double weightDecay);

    @Override
    public final void zeroGrad() {
        for (ParameterGroup group : groups) {
            for (Parameter p : group.parameters()) {
                p.clearGrad();
            }
        }
    }

    @Override
    public final List<ParameterGroup> groups() {
        return groups;
    }
}
