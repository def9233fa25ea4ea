package dev.lora4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link CheckpointableRandom#nextDoubleBits}: a block of draws is exactly that many {@code nextDouble()} calls. */
class CheckpointableRandomTest {

    @Test
    void aBlockOfDoublesIsTheSequenceOfNextDouble() {
        CheckpointableRandom block = new CheckpointableRandom(1234);
        Random reference = new Random(1234);
        long[] values = new long[10_003];
        block.nextDoubleBits(values, 2, 10_001);
        assertEquals(0L, values[0]);
        assertEquals(0L, values[10_002]);
        for (int i = 2; i < 10_001; i++) {
            assertEquals(reference.nextDouble(), values[i] * 0x1.0p-53, 0, "draw " + i);
        }
        assertEquals(reference.nextGaussian(), block.nextGaussian(), 0, "the state moved on as the calls would move it");
        assertThrows(IndexOutOfBoundsException.class, () -> block.nextDoubleBits(values, 5, 4));
        assertThrows(IndexOutOfBoundsException.class, () -> block.nextDoubleBits(values, 0, 10_004));
    }

    @Test
    void aSubclassThatChangesNextDoubleIsAskedForEachValue() {
        CheckpointableRandom constant = new CheckpointableRandom(1) {
            @Override
            public double nextDouble() {
                return 0.25;
            }
        };
        long[] values = new long[3];
        constant.nextDoubleBits(values, 0, 3);
        for (long value : values) {
            assertEquals(0.25, value * 0x1.0p-53, 0);
        }
    }
}
