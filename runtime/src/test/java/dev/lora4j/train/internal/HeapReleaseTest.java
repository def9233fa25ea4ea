package dev.lora4j.train.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class HeapReleaseTest {

    private static final long SECOND = Duration.ofSeconds(1).toNanos();
    private static final long MB = 1L << 20;

    private long now;
    private int releases;
    private long releaseCost;
    private final FakeHeap heap = new FakeHeap();

    private HeapRelease release() {
        return new HeapRelease(() -> now, () -> {
            releases++;
            now += releaseCost;
            return true;
        }, heap);
    }

    @Test
    void releasesOnceEveryIntervalBetweenSteps() {
        HeapRelease release = release();
        int steps = 0;
        for (; now < 21 * SECOND; now += SECOND / 4) { // 4 steps a second for 21 s
            release.afterStep();
            steps++;
        }
        assertEquals(84, steps);
        assertEquals(4, releases, "at 5, 10, 15 and 20 s");
        assertEquals(0, heap.collections, "a heap under the floor is left alone");
    }

    @Test
    void waitsLongerWhenAReleaseIsSlow() {
        HeapRelease release = release();
        releaseCost = SECOND; // 1 s each: at most 1% of the run means one per 100 s
        for (; now < 150 * SECOND; now += SECOND / 4) {
            release.afterStep();
        }
        assertEquals(2, releases, "at 5 s and then 100 s after the first one ended (106 s)");
    }

    @Test
    void nothingBeforeTheFirstInterval() {
        HeapRelease release = release();
        now = HeapRelease.INTERVAL.toNanos() - 1;
        release.afterStep();
        assertEquals(0, releases);
    }

    @Test
    void collectsWhenTheHeapHasGrownPastTwiceWhatWasLiveAfterTheLastCollection() {
        HeapRelease release = release();
        heap.committed = 300 * MB; // over the 256 MB floor: the first release collects
        heap.liveAfterCollection = 200 * MB;
        now = 5 * SECOND;
        release.afterStep();
        assertEquals(1, heap.collections);
        heap.committed = 390 * MB; // under 2 × 200 MB: nothing
        now = 10 * SECOND;
        release.afterStep();
        assertEquals(1, heap.collections);
        heap.committed = 410 * MB;
        now = 15 * SECOND;
        release.afterStep();
        assertEquals(2, heap.collections, "past 400 MB");
        assertEquals(3, releases, "the C heap every time");
    }

    @Test
    void aSlowCollectionCountsAgainstTheShareOfTheRun() {
        HeapRelease release = release();
        heap.committed = 1024 * MB;
        heap.collectionCost = 2 * SECOND; // then at most one hand-back per 200 s
        for (; now < 300 * SECOND; now += SECOND / 4) {
            release.afterStep();
        }
        assertEquals(2, heap.collections, "at 5 s and at 207 s");
    }

    private final class FakeHeap implements HeapRelease.JavaHeap {
        long committed;
        long used;
        long liveAfterCollection;
        long collectionCost;
        int collections;

        @Override
        public long committed() {
            return committed;
        }

        @Override
        public long used() {
            return used;
        }

        @Override
        public void collect() {
            collections++;
            used = liveAfterCollection;
            now += collectionCost;
        }
    }
}
