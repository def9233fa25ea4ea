package dev.lora4j.samples.shared;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

class PredictionsTest {

    @Test
    void accuracyAndAgreementCountArgMaxes() {
        var a = Nd4j.createFromArray(new float[][] {{1, 0}, {0, 1}, {2, 1}});
        var b = Nd4j.createFromArray(new float[][] {{1, 0}, {1, 0}, {2, 1}});
        assertEquals(2.0 / 3, Predictions.accuracy(a, new int[] {0, 1, 1}), 1e-12);
        assertEquals(2.0 / 3, Predictions.agreement(a, b), 1e-12);
        assertEquals(1.0, Predictions.agreement(a, a), 1e-12);
    }
}
