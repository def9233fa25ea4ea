package dev.lora4j.train;

import dev.lora4j.nn.Parameter;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Updates parameters from their gradients.
 *
 * <p><b>The learning rate is passed to every {@link #step(double)}</b> rather than kept inside, so
 * that a {@link LearningRateSchedule} stays a pure function of the step and the optimizer holds
 * only what it must (moment estimates). A group's effective rate is
 * {@code learningRate × group.learningRateMultiplier()}.
 *
 * <p>Contract shared by the implementations here:
 * <ul>
 *   <li>State (momentum, moments) exists only for trainable parameters, keyed by identity, and is
 *       allocated the first time a parameter is updated; it is reused in place afterwards.</li>
 *   <li>A parameter whose gradient is {@code null}, or that is frozen, is skipped: it is neither
 *       decayed nor moved, and gets no state.</li>
 *   <li>Gradients are read, never written.</li>
 * </ul>
 */
public interface Optimizer {

    /** Applies one update with base learning rate {@code learningRate}. */
    void step(double learningRate);

    /**
     * Drops the gradients of every parameter in the groups (PyTorch's {@code set_to_none}): a
     * parameter that the next backward pass does not reach then has a {@code null} gradient and
     * is skipped by the next {@link #step}.
     */
    void zeroGrad();

    /** The parameter groups, in order. */
    List<ParameterGroup> groups();

    /** Whether this optimizer holds state for {@code parameter}. */
    boolean hasState(Parameter parameter);

    /**
     * A copy of {@code parameter}'s state for a training checkpoint, or {@code null} when it has
     * none (not yet updated). The optimizers here implement it; others cannot be checkpointed.
     *
     * @throws UnsupportedOperationException by default
     */
    default @Nullable ParameterState exportState(Parameter parameter) {
        throw new UnsupportedOperationException(getClass().getName() + " cannot save its state in a training checkpoint;"
                + " implement Optimizer.exportState and importState");
    }

    /**
     * Puts back a state {@link #exportState} gave, so the next {@link #step} continues exactly where
     * the checkpointed run was.
     *
     * @throws IllegalArgumentException for buffers of the wrong names or shapes
     * @throws UnsupportedOperationException by default
     */
    default void importState(Parameter parameter, ParameterState state) {
        throw new UnsupportedOperationException(getClass().getName() + " cannot restore its state from a training"
                + " checkpoint; implement Optimizer.exportState and importState");
    }
}
