package dev.lora4j.train.internal;

import dev.lora4j.autograd.internal.NativeHeap;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * When a training run hands memory back to the system: between steps, once at least {@link
 * #INTERVAL} has passed since the last time, and never so often that it takes more than {@link
 * #MAX_SHARE} of the run (the interval grows to 100 times the last hand-back's cost if that is
 * longer). Each time:
 *
 * <ol>
 *   <li>when the Java heap has grown to more than twice what was live after the last collection
 *       asked for here (and past {@link #HEAP_FLOOR}), a full collection: ND4J gives every array,
 *       those in a workspace too, a weakly referenced deallocator registered under a string id, so
 *       a step's arrays outlive young collections in numbers, old-generation garbage builds up
 *       (2.7 MB/s in the main job) and G1 grows a large heap to hold it (460 MB committed with
 *       {@code -Xmx16g} against 275 MB with {@code -Xmx2g}); a full collection frees it and lets
 *       the heap shrink (89–190 ms in the main job);</li>
 *   <li>the C heap's free pages, ND4J's freed buffers among them ({@link NativeHeap#releaseFree()},
 *       ~26 ms).</li>
 * </ol>
 */
public final class HeapRelease {

    /** The least time between two hand-backs. */
    public static final Duration INTERVAL = Duration.ofSeconds(5);
    /** The largest share of the run's time spent handing memory back. */
    public static final double MAX_SHARE = 0.01;
    /** The committed Java heap under which no collection is asked for. */
    public static final long HEAP_FLOOR = 256L << 20;

    /** The Java heap as the release sees it. */
    interface JavaHeap {
        /** Bytes the heap holds from the system. */
        long committed();

        /** Bytes in use. */
        long used();

        /** A full collection. */
        void collect();
    }

    private final LongSupplier nanoClock;
    private final BooleanSupplier releaseNative;
    private final JavaHeap heap;
    private long liveAfterCollection;
    private long nextAt;

    /**
     * Collects through {@link System#gc()} and releases through {@link NativeHeap}, timed by {@link
     * System#nanoTime()}; the first hand-back after {@link #INTERVAL}.
     */
    public HeapRelease() {
        this(System::nanoTime, NativeHeap::releaseFree, processHeap());
    }

    /** Releases with {@code releaseNative} and collects {@code heap}, timed by {@code nanoClock} (for tests). */
    HeapRelease(LongSupplier nanoClock, BooleanSupplier releaseNative, JavaHeap heap) {
        this.nanoClock = nanoClock;
        this.releaseNative = releaseNative;
        this.heap = heap;
        this.nextAt = nanoClock.getAsLong() + INTERVAL.toNanos();
    }

    /** Called between steps: hands memory back when it is due. */
    public void afterStep() {
        long now = nanoClock.getAsLong();
        if (now - nextAt < 0) {
            return;
        }
        if (heap.committed() > Math.max(HEAP_FLOOR, 2 * liveAfterCollection)) {
            heap.collect();
            liveAfterCollection = heap.used();
        }
        releaseNative.getAsBoolean();
        long end = nanoClock.getAsLong();
        long cost = end - now;
        nextAt = end + Math.max(INTERVAL.toNanos(), (long) (cost / MAX_SHARE));
    }

    private static JavaHeap processHeap() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        return new JavaHeap() {
            @Override
            public long committed() {
                return memory.getHeapMemoryUsage().getCommitted();
            }

            @Override
            public long used() {
                return memory.getHeapMemoryUsage().getUsed();
            }

            @Override
            public void collect() { // G1 gives heap back to the system after a full collection
                System.gc();
            }
        };
    }
}
