package dev.lora4j.train.internal;

import dev.lora4j.autograd.internal.ExampleDropout;
import dev.lora4j.autograd.internal.GradientSink;
import dev.lora4j.autograd.internal.StepMemory;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.train.BatchSlicer;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingTask;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The data-parallel workers of one training run ({@link WorkerPool}: the calling thread and {@code
 * workers − 1} pool threads, each running ND4J on one native thread), over the one shared model. A
 * step splits the batch by example into one shard per worker; each worker computes its shard's
 * loss and backward pass, seeded with the shard's share of the examples, into gradient buffers of
 * its own (a {@link GradientSink}), with dropout masks drawn per example ({@link ExampleDropout})
 * and its activations in the thread's {@link StepMemory}; the shares are then summed into the
 * parameters' gradients in worker order, so that the result does not depend on thread timing.
 *
 * @param <B> the batch type
 */
public final class DataParallel<B> implements StepGradients<B> {

    private final WorkerPool workers;
    private final TrainingTask<B> task;
    private final BatchSlicer<B> slicer;
    private final long seed;
    private final List<Parameter> trainable;
    private final List<GradientSink> sinks = new ArrayList<>();

    private DataParallel(int workers, TrainingTask<B> task, long seed, List<Parameter> trainable) {
        this.workers = new WorkerPool(workers);
        this.task = task;
        this.slicer = task.slicer();
        this.seed = seed;
        this.trainable = List.copyOf(trainable);
        if (workers > 1) {
            for (int k = 0; k < workers; k++) {
                sinks.add(new GradientSink(trainable));
            }
        }
    }

    /**
     * The workers for a run, or {@code null} when it trains the classic way (a task without a
     * slicer, one worker).
     *
     * @throws IllegalArgumentException when more than one worker is asked for and the task cannot
     *     slice its batches or the model has buffers that training updates
     */
    public static <B> DataParallel<B> create(Module model, TrainingTask<B> task, TrainingConfig config,
            List<Parameter> trainable) {
        int asked = config.workers();
        if (task.slicer() == null) {
            if (asked > 1) {
                throw new IllegalArgumentException("TrainingConfig.workers is " + asked + ", but the task cannot split"
                        + " its batches between workers: give it one with TrainingTask.withSlicer");
            }
            return null;
        }
        boolean buffers = !model.namedBuffers().isEmpty();
        if (asked > 1 && buffers) {
            throw new IllegalArgumentException("TrainingConfig.workers is " + asked + ", but the model has buffers that"
                    + " training updates " + model.namedBuffers().keySet() + " (BatchNorm running statistics), which"
                    + " several workers cannot update as one; use workers(1)");
        }
        int workers = asked != TrainingConfig.AUTO_WORKERS ? asked : buffers ? 1 : WorkerPool.cores();
        return new DataParallel<>(workers, task, config.seed(), trainable);
    }

    @Override
    public int workers() {
        return workers.size();
    }

    /** The loss of {@code batch}: the example-weighted mean of its shards' losses. */
    @Override
    public double lossAndGradients(B batch, int size, long step) {
        int shards = Math.min(workers.size(), size);
        if (shards <= 1) {
            return shardLoss(task, batch, seed, step, 0, Math.max(1, size), 1.0);
        }
        double[] losses = new double[shards];
        workers.forEach(shards, k -> shard(batch, size, shards, k, step, losses));
        double loss = 0;
        for (int k = 0; k < shards; k++) {
            loss += share(size, shards, k) * losses[k];
        }
        if (Double.isFinite(loss)) {
            sumGradients(shards);
        }
        return loss;
    }

    @SuppressWarnings("try") // the scope is used only for its close()
    private void shard(B batch, int size, int shards, int k, long step, double[] losses) {
        int from = bound(size, shards, k);
        int to = bound(size, shards, k + 1);
        B slice = slicer.slice(batch, from, to);
        try (GradientSink ignored = sinks.get(k).open()) {
            losses[k] = shardLoss(task, slice, seed, step, from, to - from, share(size, shards, k));
        }
    }

    /**
     * The loss of one shard of a step's batch, examples {@code [from, from + count)} of it, with its
     * gradient, times {@code share} (the shard's part of the batch's examples), added to the
     * gradient buffers in use on this thread (a {@link GradientSink}'s, or the parameters' own) when
     * it is finite. Dropout masks are drawn per example of the whole batch, its activations live in
     * the thread's {@link StepMemory}.
     */
    @SuppressWarnings("try") // the scope is used only for its close()
    public static <B> double shardLoss(TrainingTask<B> task, B shard, long seed, long step, int from, int count,
            double share) {
        try (ExampleDropout ignored = ExampleDropout.open(seed, step, from, count)) {
            return StepLoss.backward(task, shard, share);
        }
    }

    private void sumGradients(int shards) {
        for (Parameter p : trainable) {
            INDArray target = null;
            for (int k = 0; k < shards; k++) {
                INDArray g = sinks.get(k).gradient(p);
                if (g == null) {
                    continue;
                }
                if (target == null) {
                    target = p.grad();
                    if (target == null) {
                        target = g.dup();
                        p.restoreGrad(target);
                    } else {
                        target.assign(g);
                    }
                } else {
                    target.addi(g);
                }
            }
        }
    }

    /** {@code f} of every item, in order, in evaluation on the workers ({@link WorkerPool#evaluate}). */
    @Override
    public <T, R> List<R> evaluate(List<T> items, Function<T, R> f) {
        return workers.evaluate(items, f);
    }

    @Override
    public void close() {
        workers.close();
    }

    /**
     * Where shard {@code k} of {@code shards} of a batch of {@code size} examples starts: shards
     * are consecutive runs whose sizes differ by one at most, the larger ones last.
     */
    public static int bound(int size, int shards, int k) {
        return (int) ((long) size * k / shards);
    }

    /** Shard {@code k}'s part of the batch's examples. */
    public static double share(int size, int shards, int k) {
        return (double) (bound(size, shards, k + 1) - bound(size, shards, k)) / size;
    }
}
