package dev.lora4j.train;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.autograd.internal.StepMemory;
import dev.lora4j.nn.Module;
import dev.lora4j.train.internal.WorkerPool;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs a model over many batches for their outputs (evaluation, prediction), spread over
 * data-parallel workers as training is ({@link TrainingConfig.Builder#workers}): each batch whole
 * on one worker, in evaluation mode with grad mode off, its intermediate arrays reused from batch
 * to batch. The outputs are the same whichever worker computed them.
 */
public final class Inference {

    private Inference() {}

    /**
     * {@code forward} of every batch, in order, in evaluation mode (the model's mode is put back
     * afterwards). Only the returned arrays outlive a batch: {@code forward} must not keep others.
     *
     * @param workers ≥ 1, or {@link TrainingConfig#AUTO_WORKERS} for one per core
     * @throws IllegalArgumentException for a negative worker count
     */
    public static <B> List<INDArray> outputs(Module model, List<B> batches, Function<B, Tensor> forward, int workers) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(forward, "forward");
        if (workers < 0) {
            throw new IllegalArgumentException("workers must be >= 1, or 0 (AUTO_WORKERS) for one per core, got " + workers);
        }
        boolean wasTraining = model.isTraining();
        model.eval();
        try (WorkerPool pool = new WorkerPool(workers == TrainingConfig.AUTO_WORKERS ? WorkerPool.cores() : workers)) {
            return pool.evaluate(batches, batch -> copyOut(forward.apply(batch).value()));
        } finally {
            model.setTraining(wasTraining);
        }
    }

    @SuppressWarnings("try") // the scope is used only for its close()
    private static INDArray copyOut(INDArray value) {
        try (MemoryWorkspace outside = StepMemory.outside()) {
            return value.dup();
        }
    }
}
