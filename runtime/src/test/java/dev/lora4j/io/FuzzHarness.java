package dev.lora4j.io;

import java.lang.management.ManagementFactory;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs one fuzz input through a reader and judges the outcome: the reader must return, or throw
 * the one documented exception type, within {@link #TIME_LIMIT_SECONDS}, allocating on the heap
 * no more than a small multiple of the input's size. Anything else — another exception type
 * ({@code ArrayIndexOutOfBounds}, {@code NegativeArraySize}, {@code NumberFormat}, {@code
 * IllegalArgument}, ...), an {@link Error} such as {@code OutOfMemoryError} or {@code
 * StackOverflowError}, a hang, a large allocation — fails the property with the input described.
 *
 * <p>The reader runs on one worker thread so a hang can be detected (the stuck thread is a daemon
 * and the property fails).
 */
final class FuzzHarness {

    /** How long one input may take. */
    static final long TIME_LIMIT_SECONDS = 10;

    private static final ExecutorService WORKER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "fuzz-worker");
        t.setDaemon(true);
        return t;
    });

    private final String name;
    private final Class<? extends RuntimeException> documented;
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private volatile long maxAllocated;

    FuzzHarness(String name, Class<? extends RuntimeException> documented) {
        this.name = name;
        this.documented = documented;
    }

    /** What a reader did with one input. */
    enum Outcome { ACCEPTED, REJECTED }

    /**
     * Runs {@code reader} on the worker thread.
     *
     * @param inputBytes the input's size, for the allocation bound
     * @param describe the input, for the failure message
     * @throws AssertionError when the outcome breaks the contract
     */
    Outcome run(long inputBytes, String describe, Callable<?> reader) {
        long[] allocated = new long[1];
        Future<Throwable> future = WORKER.submit(() -> {
            long before = allocatedBytes();
            try {
                reader.call();
                return null;
            } catch (Throwable t) {
                return t;
            } finally {
                allocated[0] = allocatedBytes() - before;
            }
        });
        Throwable thrown;
        try {
            thrown = future.get(TIME_LIMIT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new AssertionError(name + ": no answer within " + TIME_LIMIT_SECONDS + " s (hang) for " + describe);
        } catch (InterruptedException | ExecutionException e) {
            throw new AssertionError(name + ": harness failure for " + describe, e);
        }
        // heap use bounded by the input: decoding, the JSON tree and the arrays read are each a small
        // multiple of it; 64x + 32 MB catches any allocation sized from a claim inside the file
        long bound = 64 * inputBytes + (32L << 20);
        if (allocated[0] > bound) {
            throw new AssertionError(name + ": allocated " + allocated[0] + " heap bytes for a " + inputBytes
                    + "-byte input (bound " + bound + "): " + describe);
        }
        maxAllocated = Math.max(maxAllocated, allocated[0]);
        if (thrown == null) {
            accepted.incrementAndGet();
            return Outcome.ACCEPTED;
        }
        if (documented.isInstance(thrown)) {
            String message = thrown.getMessage();
            if (message == null || message.isBlank() || message.contains("\n")) {
                throw new AssertionError(name + ": " + documented.getSimpleName() + " without a one-line message ("
                        + message + ") for " + describe, thrown);
            }
            rejected.incrementAndGet();
            return Outcome.REJECTED;
        }
        throw new AssertionError(name + ": undocumented " + thrown.getClass().getName() + " for " + describe, thrown);
    }

    /** {@code name: N inputs (A accepted, R rejected with <type>), max heap per input X MB}. */
    String summary() {
        long a = accepted.get();
        long r = rejected.get();
        return String.format("%s: %d inputs (%d accepted, %d rejected with %s), max heap per input %.1f MB",
                name, a + r, a, r, documented.getSimpleName(), maxAllocated / 1e6);
    }

    long tried() {
        return accepted.get() + rejected.get();
    }

    private static long allocatedBytes() {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        if (bean instanceof com.sun.management.ThreadMXBean sun && sun.isThreadAllocatedMemorySupported()) {
            return sun.getCurrentThreadAllocatedBytes();
        }
        return 0;
    }
}
