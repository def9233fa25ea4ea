package dev.lora4j.autograd.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.testing.Bitwise;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class ExampleDropoutTest {

    /** The masks of the given dropouts, in one shard {@code [first, first + examples)}. */
    private static INDArray[] masks(long step, long first, int examples, long[]... shapes) {
        INDArray[] out = new INDArray[shapes.length];
        try (ExampleDropout ignored = ExampleDropout.open(7, step, first, examples)) {
            for (int i = 0; i < shapes.length; i++) {
                out[i] = Functional.dropout(Tensor.constant(Nd4j.ones(DataType.FLOAT, shapes[i])), 0.5, new Random(1))
                        .value();
            }
        }
        return out;
    }

    @Test
    void aShardDrawsExactlyItsExamplesRowsOfTheWholeBatchsMasks() {
        long[] tokens = {6, 3, 5};      // [examples, time, features]
        long[] heads = {12, 3, 3};       // [examples × heads, time, time]
        INDArray[] whole = masks(4, 0, 6, tokens, heads);
        INDArray[] left = masks(4, 0, 2, new long[] {2, 3, 5}, new long[] {4, 3, 3});
        INDArray[] right = masks(4, 2, 4, new long[] {4, 3, 5}, new long[] {8, 3, 3});
        assertTrue(Bitwise.equal(whole[0].get(NDArrayIndex.interval(0, 2)), left[0]));
        assertTrue(Bitwise.equal(whole[0].get(NDArrayIndex.interval(2, 6)), right[0]));
        assertTrue(Bitwise.equal(whole[1].get(NDArrayIndex.interval(0, 4)), left[1]));
        assertTrue(Bitwise.equal(whole[1].get(NDArrayIndex.interval(4, 12)), right[1]));
    }

    @Test
    void masksDifferBySiteAndStepAndRepeatExactly() {
        long[] shape = {4, 50};
        INDArray[] step3 = masks(3, 0, 4, shape, shape);
        INDArray[] again = masks(3, 0, 4, shape, shape);
        INDArray[] step4 = masks(4, 0, 4, shape, shape);
        assertTrue(Bitwise.equal(step3[0], again[0]) && Bitwise.equal(step3[1], again[1]));
        assertNotEquals(step3[0], step3[1], "two dropouts of one pass");
        assertNotEquals(step3[0], step4[0], "the same dropout in two steps");
        assertNotEquals(step3[0].getRow(0), step3[0].getRow(1), "two examples");
    }

    @Test
    void aboutPOfTheElementsAreDroppedAndTheRestScaled() {
        INDArray mask = masks(1, 0, 100, new long[] {100, 1000})[0];
        double dropped = mask.eq(0).castTo(DataType.FLOAT).meanNumber().doubleValue();
        // 100,000 Bernoulli(0.5) draws: the standard deviation of the share is 0.0016; 5 of them
        assertEquals(0.5, dropped, 0.008);
        assertEquals(2.0, mask.maxNumber().doubleValue(), 0.0, "survivors scaled by 1/(1 - p)");
    }

    @Test
    void rowsThatAreNotAMultipleOfTheExamplesAreRefused() {
        try (ExampleDropout ignored = ExampleDropout.open(7, 1, 0, 4)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Functional.dropout(
                    Tensor.constant(Nd4j.ones(DataType.FLOAT, 6, 3)), 0.1, new Random(1)));
            assertEquals("dropout on a tensor of shape [6, 3] in a shard of 4 examples: per-example masks"
                    + " (data-parallel training) need the first dimension to hold the examples, a multiple of 4", e.getMessage());
        }
        assertNull(ExampleDropout.next(new long[] {6, 3}), "closed: dropouts draw from their own generators");
    }
}
