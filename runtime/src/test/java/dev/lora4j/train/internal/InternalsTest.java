package dev.lora4j.train.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.train.MetricGoal;
import dev.lora4j.train.Predictor;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingTask;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

class InternalsTest {

    @Test
    void trackerHonoursMinDeltaAndPatience() {
        BestMetricTracker t = new BestMetricTracker(MetricGoal.MINIMIZE, 0.1);
        assertTrue(t.record(1.0, 1));
        assertFalse(t.record(0.95, 2), "an improvement smaller than minDelta does not count");
        assertFalse(t.exhausted(2));
        assertTrue(t.record(0.85, 3));
        assertFalse(t.record(Double.NaN, 4));
        assertFalse(t.record(0.9, 5));
        assertTrue(t.exhausted(2));
        assertEquals(0.85, t.best());
        assertEquals(3, t.bestStep());

        BestMetricTracker up = new BestMetricTracker(MetricGoal.MAXIMIZE, 0.0);
        assertTrue(up.record(0.5, 1));
        assertFalse(up.record(0.5, 2));
        assertTrue(up.record(0.6, 3));
    }

    @Test
    void snapshotRestoresBitwise() {
        Parameter p = new Parameter(Nd4j.createFromArray(1.5f, -2.25f));
        WeightSnapshot snapshot = new WeightSnapshot(List.of(p));
        assertFalse(snapshot.isCaptured());
        snapshot.capture();
        p.value().addi(0.1);
        snapshot.restore();
        assertArrayEquals(new float[] {1.5f, -2.25f}, p.value().toFloatVector(), 0f);
    }

    @Test
    void firstNonFiniteGradientByName() {
        Map<String, Parameter> named = new LinkedHashMap<>();
        Parameter a = new Parameter(Nd4j.zeros(2));
        Parameter b = new Parameter(Nd4j.zeros(2));
        Parameter c = new Parameter(Nd4j.zeros(2));
        named.put("a", a);
        named.put("b", b);
        named.put("c", c);
        a.restoreGrad(Nd4j.createFromArray(1f, 2f));
        c.restoreGrad(Nd4j.createFromArray(Float.NaN, 0f));
        assertEquals(Optional.of("c"), NonFiniteGradients.first(named));
        b.restoreGrad(Nd4j.createFromArray(0f, Float.NEGATIVE_INFINITY));
        assertEquals(Optional.of("b"), NonFiniteGradients.first(named));
        b.clearGrad();
        c.clearGrad();
        assertEquals(Optional.empty(), NonFiniteGradients.first(named));
    }

    @Test
    void accuracyCountsArgMaxAndSkipsIgnoredTargets() {
        float[][] logits = {{0.1f, 0.9f}, {0.8f, 0.2f}, {0.3f, 0.7f}, {0.6f, 0.4f}};
        long[] counts = Validator.countCorrect(new Predictor.Prediction(Nd4j.createFromArray(logits),
                new int[] {1, 1, -100, 0}));
        assertArrayEquals(new long[] {2, 3}, counts);
    }

    @Test
    void validationSlicesBatchesIntoPiecesWithTheSameMetrics() {
        // examples are numbers; loss = mean of x², prediction class 0 when x > 0
        List<double[]> batches = List.of(new double[] {0.5, -1.0, 2.0, 0.25, -0.75, 1.5, -2.5, 3.0, 0.1, -0.2, 0.3},
                new double[] {-1.25, 0.75, 0.05});
        List<Integer> sizesSeen = new ArrayList<>();
        TrainingTask<double[]> whole = TrainingTask.<double[]>of(batch -> {
            sizesSeen.add(batch.length);
            double[] squares = Arrays.stream(batch).map(x -> x * x).toArray();
            return Tensor.constant(Nd4j.createFromArray(squares)).mean();
        }, batch -> batch.length).withPredictor(batch -> {
            double[][] logits = new double[batch.length][];
            int[] targets = new int[batch.length];
            for (int i = 0; i < batch.length; i++) {
                logits[i] = new double[] {batch[i], 0.1};
                targets[i] = batch[i] > 1 ? 1 : 0; // a property of the example, not of its place
            }
            return new Predictor.Prediction(Nd4j.createFromArray(logits), targets);
        });
        Module model = new Module() {};
        Map<String, Double> unsliced = new Validator<>(model, batches, whole, null).evaluate();
        assertEquals(List.of(11, 3), sizesSeen, "without a slicer, whole batches");
        sizesSeen.clear();
        TrainingTask<double[]> sliced = whole.withSlicer((batch, from, to) -> Arrays.copyOfRange(batch, from, to));
        Map<String, Double> pieces = new Validator<>(model, batches, sliced, null).evaluate();
        assertEquals(List.of(Validator.PIECE_EXAMPLES, 11 - Validator.PIECE_EXAMPLES, 3), sizesSeen);
        // the same weighted mean, summed in another order: float64 rounding only
        assertEquals(unsliced.get(TrainingConfig.VAL_LOSS), pieces.get(TrainingConfig.VAL_LOSS), 1e-12);
        assertEquals(unsliced.get(TrainingConfig.VAL_ACCURACY), pieces.get(TrainingConfig.VAL_ACCURACY), 0.0);
        double expectedLoss = (Arrays.stream(batches.get(0)).map(x -> x * x).sum()
                + Arrays.stream(batches.get(1)).map(x -> x * x).sum()) / 14;
        assertEquals(expectedLoss, pieces.get(TrainingConfig.VAL_LOSS), 1e-6); // float32 squares
    }
}
