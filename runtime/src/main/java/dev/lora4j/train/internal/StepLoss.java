package dev.lora4j.train.internal;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.autograd.internal.StepMemory;
import dev.lora4j.train.TrainingTask;
import org.nd4j.linalg.api.memory.MemoryWorkspace;

/**
 * One forward and backward pass of a training step, the whole batch's or one shard's, in the
 * calling thread's {@link StepMemory}: its arrays are freed when the pass ends, not when Java next
 * collects garbage (a CNN fine-tune outside it grew past 13 GB resident with {@code -Xmx1g}).
 */
public final class StepLoss {

    private StepLoss() {}

    /**
     * The loss of {@code batch}; when it is finite, its gradient times {@code share} is added to the
     * gradient buffers in use on this thread (a {@link dev.lora4j.autograd.internal.GradientSink}'s,
     * or the parameters' own).
     */
    @SuppressWarnings("try") // the scope is used only for its close()
    public static <B> double backward(TrainingTask<B> task, B batch, double share) {
        try (MemoryWorkspace memory = StepMemory.open()) {
            Tensor loss = task.loss(batch);
            double value = loss.item();
            if (Double.isFinite(value)) {
                if (share == 1.0) {
                    loss.backward();
                } else {
                    loss.backward(loss.value().ulike().assign(share));
                }
            }
            return value;
        }
    }
}
