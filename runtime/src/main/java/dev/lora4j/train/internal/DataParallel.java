package dev.lora4j.train.internal;

import dev.lora4j.NativeThreads;
import dev.lora4j.autograd.Tensor;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The data-parallel workers of one training run: the calling thread and {@code workers − 1} pool
 * threads, each running ND4J on one native thread, over the one shared model. A step splits the
 * batch by example into one shard per worker; each worker computes its shard's loss and backward
 * pass, seeded with the shard's share of the examples, into gradient buffers of its own (a {@link
 * GradientSink}), with dropout masks drawn per example ({@link ExampleDropout}) and its
 * activations in the thread's {@link StepMemory}; the shares are
 * then summed into the parameters' gradients in worker order, so that the result does not depend
 * on thread timing.
 *
 * @param <B> the batch type
 */
public final class DataParallel<B> implements AutoCloseable {

    private static final ThreadLocal<Boolean> SINGLE_THREADED = ThreadLocal.withInitial(() -> Boolean.FALSE);

    private final int workers;
    private final TrainingTask<B> task;
    private final BatchSlicer<B> slicer;
    private final long seed;
    private final List<Parameter> trainable;
    private final List<GradientSink> sinks = new ArrayList<>();
    private final ExecutorService pool;

    private DataParallel(int workers, TrainingTask<B> task, long seed, List<Parameter> trainable) {
        this.workers = workers;
        this.task = task;
        this.slicer = task.slicer();
        this.seed = seed;
        this.trainable = List.copyOf(trainable);
        if (workers > 1) {
            for (int k = 0; k < workers; k++) {
                sinks.add(new GradientSink(trainable));
            }
            AtomicInteger index = new AtomicInteger(1);
            pool = Executors.newFixedThreadPool(workers - 1, runnable -> {
                Thread thread = new Thread(runnable, "lora4j-worker-" + index.getAndIncrement());
                thread.setDaemon(true);
                return thread;
            });
            singleThreaded();
        } else {
            pool = null;
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
        int workers = asked != TrainingConfig.AUTO_WORKERS ? asked
                : buffers ? 1 : Runtime.getRuntime().availableProcessors();
        return new DataParallel<>(workers, task, config.seed(), trainable);
    }

    /** The number of workers. */
    public int workers() {
        return workers;
    }

    /**
     * Computes the loss of {@code batch} (the example-weighted mean of its shards' losses) and, when
     * it is finite, adds its gradient to the trainable parameters' gradient buffers.
     *
     * @param size the number of examples in the batch
     * @param step the global step, 1-based (it keys the dropout masks)
     */
    public double lossAndGradients(B batch, int size, long step) {
        int shards = Math.min(workers, size);
        if (shards <= 1) {
            try (MemoryWorkspace memory = StepMemory.open();
                    ExampleDropout ignored = ExampleDropout.open(seed, step, 0, Math.max(1, size))) {
                Tensor loss = task.loss(batch);
                double value = loss.item();
                if (Double.isFinite(value)) {
                    loss.backward();
                }
                return value;
            }
        }
        double[] losses = new double[shards];
        List<Future<?>> running = new ArrayList<>();
        for (int k = 1; k < shards; k++) {
            int shard = k;
            running.add(pool.submit(() -> shard(batch, size, shards, shard, step, losses)));
        }
        Throwable failure = null;
        try {
            shard(batch, size, shards, 0, step, losses);
        } catch (RuntimeException | Error e) {
            failure = e;
        }
        failure = awaitAll(running, failure);
        rethrow(failure);
        double loss = 0;
        for (int k = 0; k < shards; k++) {
            loss += share(size, shards, k) * losses[k];
        }
        if (Double.isFinite(loss)) {
            sumGradients(shards);
        }
        return loss;
    }

    private void shard(B batch, int size, int shards, int k, long step, double[] losses) {
        singleThreaded();
        int from = bound(size, shards, k);
        int to = bound(size, shards, k + 1);
        B slice = slicer.slice(batch, from, to);
        try (MemoryWorkspace memory = StepMemory.open();
                GradientSink ignored = sinks.get(k).open();
                ExampleDropout alsoIgnored = ExampleDropout.open(seed, step, from, to - from)) {
            Tensor loss = task.loss(slice);
            double value = loss.item();
            losses[k] = value;
            if (Double.isFinite(value)) {
                loss.backward(loss.value().ulike().assign(share(size, shards, k)));
            }
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

    /**
     * {@code f} of every item, in the items' order, computed on the workers (each item whole on
     * one worker; which one does not change the result).
     */
    public <T, R> List<R> map(List<T> items, Function<T, R> f) {
        List<R> results = new ArrayList<>(items.size());
        if (pool == null || items.size() <= 1) {
            for (T item : items) {
                results.add(f.apply(item));
            }
            return results;
        }
        Object[] out = new Object[items.size()];
        AtomicInteger next = new AtomicInteger();
        Runnable drain = () -> {
            singleThreaded();
            for (int i = next.getAndIncrement(); i < out.length; i = next.getAndIncrement()) {
                out[i] = f.apply(items.get(i));
            }
        };
        List<Future<?>> running = new ArrayList<>();
        for (int k = 1; k < Math.min(workers, items.size()); k++) {
            running.add(pool.submit(drain));
        }
        Throwable failure = null;
        try {
            drain.run();
        } catch (RuntimeException | Error e) {
            next.set(out.length); // the others stop at their next item
            failure = e;
        }
        rethrow(awaitAll(running, failure));
        for (Object o : out) {
            @SuppressWarnings("unchecked")
            R r = (R) o;
            results.add(r);
        }
        return results;
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }

    private static int bound(int size, int shards, int k) {
        return (int) ((long) size * k / shards);
    }

    private static double share(int size, int shards, int k) {
        return (double) (bound(size, shards, k + 1) - bound(size, shards, k)) / size;
    }

    /** ND4J's native code on one thread for the calling thread (OpenMP's setting is per thread). */
    private static void singleThreaded() {
        if (!SINGLE_THREADED.get()) {
            NativeThreads.limit(1);
            SINGLE_THREADED.set(Boolean.TRUE);
        }
    }

    /** Waits for every task; returns the first failure ({@code failure} if already set). */
    private static Throwable awaitAll(List<Future<?>> running, Throwable failure) {
        for (Future<?> future : running) {
            try {
                future.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) {
                    failure = e;
                }
            }
        }
        return failure;
    }

    private static void rethrow(Throwable failure) {
        if (failure instanceof RuntimeException e) {
            throw e;
        }
        if (failure instanceof Error e) {
            throw e;
        }
        if (failure != null) {
            throw new IllegalStateException("a training worker was interrupted", failure);
        }
    }
}
