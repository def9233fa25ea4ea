package dev.lora4j.train.internal;

import java.util.List;
import java.util.function.Function;

/**
 * Where a training step's loss and gradients come from when they are not simply the batch's own
 * forward and backward pass on the calling thread: data-parallel workers in this JVM ({@link
 * DataParallel}) or tasks in other processes that exchange their shards' gradients (the Spark
 * trainer). Every implementation leaves, for the same batch and step, the same gradients in the
 * trainable parameters' buffers whatever the timing of its threads.
 *
 * @param <B> the batch type the run iterates over
 */
public interface StepGradients<B> extends AutoCloseable {

    /** The number of workers the step is shared by (threads, or tasks). */
    int workers();

    /**
     * Computes the loss of {@code batch} and, when it is finite, adds its gradient to the trainable
     * parameters' gradient buffers.
     *
     * @param size the number of examples in the batch
     * @param step the global step, 1-based (it keys the dropout masks)
     */
    double lossAndGradients(B batch, int size, long step);

    /** {@code f} of every item, in order, in evaluation (grad mode off, step memory per item). */
    <T, R> List<R> evaluate(List<T> items, Function<T, R> f);

    /** Stops the threads it started. */
    @Override
    void close();
}
