package dev.lora4j.train.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The workers: task k on worker k, failures rethrown, and the threads reused from pool to pool. */
class WorkerPoolTest {

    @Test
    void aLaterPoolRunsOnTheThreadAnEarlierOneUsedSoItsStepMemoryIsNotGrownAgain() {
        AtomicReference<Thread> first = new AtomicReference<>();
        AtomicReference<Thread> second = new AtomicReference<>();
        try (WorkerPool pool = new WorkerPool(2)) {
            pool.forEach(2, k -> {
                if (k == 1) {
                    first.set(Thread.currentThread());
                }
            });
        }
        try (WorkerPool pool = new WorkerPool(2)) {
            pool.forEach(2, k -> {
                if (k == 1) {
                    second.set(Thread.currentThread());
                }
            });
        }
        assertNotEquals(Thread.currentThread(), first.get(), "worker 1 runs on a thread of its own");
        assertEquals(first.get(), second.get(), "the closed pool's thread went back to be reused");
        assertTrue(first.get().isDaemon());
    }

    @Test
    void mapKeepsTheItemsOrderAndAFailureReachesTheCaller() {
        try (WorkerPool pool = new WorkerPool(2)) {
            assertEquals(List.of(2, 4, 6, 8, 10), pool.map(List.of(1, 2, 3, 4, 5), x -> 2 * x));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.forEach(2, k -> {
                if (k == 1) {
                    throw new IllegalStateException("worker 1 failed");
                }
            }));
            assertEquals("worker 1 failed", e.getMessage());
        }
    }
}
