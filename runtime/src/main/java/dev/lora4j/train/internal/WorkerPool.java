package dev.lora4j.train.internal;

import dev.lora4j.NativeThreads;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.autograd.internal.StepMemory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.IntConsumer;
import org.nd4j.linalg.api.memory.MemoryWorkspace;

/**
 * Data-parallel workers: the calling thread and {@code size − 1} pool threads, each running ND4J's
 * native code on one thread. Work handed to them finishes before the call returns; the first
 * failure is rethrown on the calling thread once every worker has stopped.
 */
public final class WorkerPool implements AutoCloseable {

    private static final ThreadLocal<Boolean> SINGLE_THREADED = ThreadLocal.withInitial(() -> Boolean.FALSE);

    private final int size;
    private final ExecutorService pool;

    /** {@code size} workers, ≥ 1; one creates no thread and changes no native setting. */
    public WorkerPool(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("workers must be at least 1, got " + size);
        }
        this.size = size;
        if (size > 1) {
            AtomicInteger index = new AtomicInteger(1);
            pool = Executors.newFixedThreadPool(size - 1, runnable -> {
                Thread thread = new Thread(runnable, "lora4j-worker-" + index.getAndIncrement());
                thread.setDaemon(true);
                return thread;
            });
            singleThreaded();
        } else {
            pool = null;
        }
    }

    /** The cores this JVM may use: the number of workers {@code AUTO_WORKERS} stands for. */
    public static int cores() {
        return Runtime.getRuntime().availableProcessors();
    }

    /** The number of workers. */
    public int size() {
        return size;
    }

    /** Runs {@code task(k)} for {@code k < tasks ≤ size}, task k on worker k (task 0 on the caller). */
    public void forEach(int tasks, IntConsumer task) {
        if (tasks > size) {
            throw new IllegalArgumentException(tasks + " tasks for " + size + " workers");
        }
        List<Future<?>> running = new ArrayList<>();
        for (int k = 1; k < tasks; k++) {
            int index = k;
            running.add(pool.submit(() -> {
                singleThreaded();
                task.accept(index);
            }));
        }
        Throwable failure = null;
        try {
            if (tasks > 0) {
                task.accept(0);
            }
        } catch (RuntimeException | Error e) {
            failure = e;
        }
        rethrow(awaitAll(running, failure));
    }

    /**
     * {@code f} of every item, in the items' order, each computed whole on one worker (which one
     * does not change the result).
     */
    public <T, R> List<R> map(List<T> items, Function<T, R> f) {
        Object[] out = new Object[items.size()];
        AtomicInteger next = new AtomicInteger();
        forEach(Math.min(size, items.size()), worker -> {
            try {
                for (int i = next.getAndIncrement(); i < out.length; i = next.getAndIncrement()) {
                    out[i] = f.apply(items.get(i));
                }
            } catch (RuntimeException | Error e) {
                next.set(out.length); // the others stop at their next item
                throw e;
            }
        });
        List<R> results = new ArrayList<>(out.length);
        for (Object o : out) {
            @SuppressWarnings("unchecked")
            R r = (R) o;
            results.add(r);
        }
        return results;
    }

    /**
     * {@code f} of every item, as {@link #map}, in evaluation: on each worker grad mode off and the
     * item's arrays in the thread's {@link StepMemory}, so that only what {@code f} returns outlives
     * the item (an array returned must be copied out with {@link StepMemory#outside()}).
     */
    @SuppressWarnings("try") // the scopes are used only for their close()
    public <T, R> List<R> evaluate(List<T> items, Function<T, R> f) {
        return map(items, item -> {
            try (GradMode.Scope off = GradMode.disable(); MemoryWorkspace memory = StepMemory.open()) {
                return f.apply(item);
            }
        });
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }

    /**
     * ND4J's native code on one thread for the calling thread (OpenMP's setting is per thread), as
     * on every worker; for threads that act as workers without a pool (a Spark task).
     */
    public static void singleThreaded() {
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
            throw new IllegalStateException("a worker was interrupted", failure);
        }
    }
}
