package dev.lora4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link CheckpointableRandom#nextDoubles}: a block of draws is exactly that many {@code nextDouble()} calls. */
class CheckpointableRandomTest {

    @Test
    void aBlockOfDoublesIsTheSequenceOfNextDouble() {
        CheckpointableRandom block = new CheckpointableRandom(1234);
        Random reference = new Random(1234);
        double[] values = new double[10_003];
        block.nextDoubles(values, 2, 10_001);
        assertEquals(0.0, values[0]);
        assertEquals(0.0, values[10_002]);
        for (int i = 2; i < 10_001; i++) {
            assertEquals(reference.nextDouble(), values[i], 0, "draw " + i);
        }
        assertEquals(reference.nextGaussian(), block.nextGaussian(), 0, "the state moved on as the calls would move it");
        assertThrows(IndexOutOfBoundsException.class, () -> block.nextDoubles(values, 5, 4));
        assertThrows(IndexOutOfBoundsException.class, () -> block.nextDoubles(values, 0, 10_004));
    }

    @Test
    void aSubclassThatChangesNextDoubleIsAskedForEachValue() {
        CheckpointableRandom constant = new CheckpointableRandom(1) {
            @Override
            public double nextDouble() {
                return 0.25;
            }
        };
        double[] values = new double[3];
        constant.nextDoubles(values, 0, 3);
        assertEquals(0.25, values[0] + values[1] + values[2] - 0.5, 0);
    }
}
