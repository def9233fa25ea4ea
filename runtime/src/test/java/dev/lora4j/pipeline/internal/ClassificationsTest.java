package dev.lora4j.pipeline.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Module;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ClassificationsTest {

    private static final Module NO_PARAMETERS = new Module() {};

    private record Batch(INDArray logits, int[] labels) {}

    @Test
    void accuracyAndAgreementCountArgMaxesOverRowsWithATarget() {
        Batch first = new Batch(Nd4j.createFromArray(new float[][] {{1, 0}, {0, 1}}), new int[] {0, 1});
        Batch second = new Batch(Nd4j.createFromArray(new float[][] {{2, 1}, {0, 5}}), new int[] {1, -100});
        Classifications a = Classifications.of(NO_PARAMETERS, List.of(first, second), b -> Tensor.constant(b.logits()),
                Batch::labels);
        assertEquals(3, a.counted(), "the ignored row is not counted");
        assertEquals(2.0 / 3, a.accuracy(), 1e-12);
        Batch flipped = new Batch(Nd4j.createFromArray(new float[][] {{0, 1}, {0, 1}}), new int[] {0, 1});
        Classifications b = Classifications.of(NO_PARAMETERS, List.of(flipped, second), x -> Tensor.constant(x.logits()),
                Batch::labels);
        assertEquals(2.0 / 3, a.agreement(b), 1e-12);
        assertEquals(1.0, a.agreement(a), 1e-12);
        assertEquals(1.0, a.maxAbsDiff(b), 1e-6);
    }

    @Test
    void logitsPerPositionBecomeRowsAndLabelsMustMatchThem() {
        INDArray perPosition = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 2, 3, 4); // [examples, time, classes]
        Batch batch = new Batch(perPosition, new int[] {0, 1, 2, 3, -100, 0});
        Classifications c = Classifications.of(NO_PARAMETERS, List.of(batch), b -> Tensor.constant(b.logits()),
                Batch::labels);
        assertEquals(6, c.logits().rows());
        assertEquals(5, c.counted());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Classifications.of(NO_PARAMETERS,
                List.of(new Batch(perPosition, new int[] {0, 1})), b -> Tensor.constant(b.logits()), Batch::labels));
        assertEquals("the job gives 2 labels for 6 rows of logits", e.getMessage());
    }
}
