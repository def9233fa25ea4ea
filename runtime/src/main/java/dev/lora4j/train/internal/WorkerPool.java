package dev.lora4j.train.internal;

import dev.lora4j.NativeThreads;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.autograd.internal.StepMemory;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.IntConsumer;
import org.nd4j.linalg.api.memory.MemoryWorkspace;

/**
 * Data-parallel workers: the calling thread and {@code size − 1} threads from those shared by every
 * pool of the JVM, each running ND4J's native code on one thread. Work handed to them finishes before the call returns; the first
 * failure is rethrown on the calling thread once every worker has stopped.
 */
public final class WorkerPool implements AutoCloseable {

    private static final ThreadLocal<Boolean> SINGLE_THREADED = ThreadLocal.withInitial(() -> Boolean.FALSE);

    /**
     * Worker threads (each a one-thread executor) not in use by a pool: a pool borrows its {@code
     * size − 1} threads here and gives them back when closed, so that a thread's step memory, grown
     * to the largest step it ran, is not grown again by every training run, validation pass or
     * inference after it. A borrowed thread serves one pool only (worker k stays on one thread for
     * the pool's life); an idle thread ends after a minute, and a new one starts when none is idle.
     */
    private static final Deque<ExecutorService> IDLE = new ArrayDeque<>();
    private static final AtomicInteger THREAD_INDEX = new AtomicInteger(1);

    private final int size;
    private final List<ExecutorService> threads = new ArrayList<>();
    private boolean closed;

    /** {@code size} workers, ≥ 1; one runs everything on the caller and changes no native setting. */
    public WorkerPool(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("workers must be at least 1, got " + size);
        }
        this.size = size;
        if (size > 1) {
            for (int k = 1; k < size; k++) {
                threads.add(borrow());
            }
            singleThreaded();
        }
    }

    private static ExecutorService borrow() {
        synchronized (IDLE) {
            ExecutorService idle = IDLE.pollFirst();
            if (idle != null) {
                return idle;
            }
        }
        ThreadPoolExecutor executor = new ThreadPoolExecutor(1, 1, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                runnable -> {
                    Thread thread = new Thread(runnable, "lora4j-worker-" + THREAD_INDEX.getAndIncrement());
                    thread.setDaemon(true);
                    return thread;
                });
        executor.allowCoreThreadTimeOut(true);
        return executor;
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
            running.add(threads.get(index - 1).submit(() -> {
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

    /** Gives the threads back for later pools (once; the pool must not be used after). */
    @Override
    public void close() {
        synchronized (IDLE) {
            if (!closed) {
                threads.forEach(IDLE::addFirst);
                closed = true;
            }
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
