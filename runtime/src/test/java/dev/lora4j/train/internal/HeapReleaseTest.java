package dev.lora4j.train.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class HeapReleaseTest {

    private static final long SECOND = Duration.ofSeconds(1).toNanos();

    private long now;
    private int releases;
    private long releaseCost;

    private HeapRelease release() {
        return new HeapRelease(() -> now, () -> {
            releases++;
            now += releaseCost;
            return true;
        });
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
}
