package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.TrainingListener;
import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.BatchNorm2d;
import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.Bitwise;
import dev.lora4j.testing.DropoutMlp;
import dev.lora4j.train.internal.DataParallel;
import dev.lora4j.train.internal.Validator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.executioner.OpExecutioner;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Data-parallel training in one JVM ({@link TrainingConfig.Builder#workers}): bit-for-bit
 * repeatable with a given worker count, the same weights as one worker up to float rounding, with
 * dropout in the model and in the adapters (masks drawn per example), resumable from checkpoints,
 * and clear errors where it cannot apply.
 */
class DataParallelTrainingTest {

    /**
     * ND4J checks every op's arrays against their workspace: an array of a step's memory used after
     * the step (kept by mistake past {@link dev.lora4j.autograd.internal.StepMemory}) fails the op.
     */
    @BeforeAll
    static void panicOnArraysUsedOutsideTheirStep() {
        Nd4j.getExecutioner().setProfilingMode(OpExecutioner.ProfilingMode.SCOPE_PANIC);
    }

    @AfterAll
    static void stopChecking() {
        Nd4j.getExecutioner().setProfilingMode(OpExecutioner.ProfilingMode.DISABLED);
    }

    record Batch(INDArray x, INDArray y) {
        int size() {
            return (int) x.size(0);
        }

        Batch slice(int from, int to) {
            return new Batch(x.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()),
                    y.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()));
        }
    }

    static List<Batch> batches(int count, int size, long seed) {
        return DropoutMlp.examples(count, size, seed).stream()
                .map(xy -> new Batch(Nd4j.createFromArray(xy[0]), Nd4j.createFromArray(xy[1]))).toList();
    }

    static LoraModel<DropoutMlp> model(double dropout) {
        return DropoutMlp.adapted(dropout);
    }

    /** Mean squared error: a mean over examples (each has three targets), as slicing needs. */
    static TrainingTask<Batch> task(DropoutMlp net) {
        return TrainingTask.<Batch>of(b -> Functional.mse(net.forward(Tensor.constant(b.x())), Tensor.constant(b.y())),
                        Batch::size)
                .withSlicer(Batch::slice);
    }

    static TrainingConfig.Builder config(int workers) {
        return TrainingConfig.builder().epochs(3).learningRate(2e-2).warmupSteps(3).maxGradNorm(0.5)
                .evalEverySteps(4).evalEveryEpoch(false).restoreBestWeights(false).seed(9).workers(workers);
    }

    static Trainer trainer(TrainingConfig config, TrainingListener... listeners) {
        return new Trainer(config, OptimizerFactory.adamW(0.01), ScheduleFactory.LINEAR, Set.of(listeners));
    }

    /** Trains 21 steps (7 batches of 7, three epochs); the trainable weights after. */
    static Map<String, INDArray> train(int workers, double dropout, List<TrainingResult> results) {
        LoraModel<DropoutMlp> lora = model(dropout);
        TrainingResult result = trainer(config(workers).build())
                .fit(lora.model(), batches(7, 7, 1), batches(3, 5, 2), task(lora.model()));
        results.add(result);
        return trainable(lora.model());
    }

    static Map<String, INDArray> trainable(Module model) {
        return DropoutMlp.trainableValues(model);
    }

    @Test
    void twoWorkersGiveBitwiseTheSameWeightsRunAfterRun() {
        List<TrainingResult> results = new ArrayList<>();
        Map<String, INDArray> first = train(2, 0.2, results);
        Map<String, INDArray> second = train(2, 0.2, results);
        assertEquals(21, results.get(0).steps());
        assertEquals(results.get(0).losses(), results.get(1).losses(), "every step's loss, bit for bit");
        first.forEach((name, value) -> assertTrue(Bitwise.equal(value, second.get(name)), name));
        assertEquals(results.get(0).evaluations(), results.get(1).evaluations());
    }

    /**
     * One worker and two reach the same weights up to float32 rounding. The two sum the same
     * per-example terms in another order (two shard GEMMs and an add instead of one GEMM over the
     * batch), which changes a gradient by a few units in the last place (float32: 6e-8 relative).
     * AdamW divides each update by the root of its squared-gradient average, so such a difference
     * moves a weight by at most about {@code lr × 1e-6} per step in the worst case of a near-zero
     * gradient, and 21 steps at lr 2e-2 stay below 1e-5 however the differences add up; the
     * weights themselves move by about 0.1 to 1 over the run, so the tolerance, 2e-5 absolute, is
     * four orders of magnitude below the change training makes. Dropout masks are drawn per
     * example, so they are the same with one worker as with two and the bound holds with dropout
     * on.
     */
    @ParameterizedTest
    @ValueSource(doubles = {0.0, 0.2})
    void oneAndTwoWorkersReachTheSameWeightsUpToFloatRounding(double dropout) {
        List<TrainingResult> results = new ArrayList<>();
        Map<String, INDArray> one = train(1, dropout, results);
        Map<String, INDArray> two = train(2, dropout, results);
        Map<String, INDArray> start = trainable(model(dropout).model());
        double worst = 0;
        double moved = 0;
        for (String name : one.keySet()) {
            worst = Math.max(worst, one.get(name).sub(two.get(name)).amaxNumber().doubleValue());
            moved = Math.max(moved, one.get(name).sub(start.get(name)).amaxNumber().doubleValue());
        }
        System.out.printf("[data-parallel] dropout %.1f: 1 vs 2 workers, largest weight difference %.2e after 21 steps"
                + " (training moved weights by up to %.3f)%n", dropout, worst, moved);
        assertTrue(worst < 2e-5, "largest difference " + worst);
        assertTrue(moved > 0.05, "training moved the weights: " + moved);
        for (int s = 0; s < 21; s++) {
            assertEquals(results.get(0).losses().get(s), results.get(1).losses().get(s), 1e-4, "loss at step " + (s + 1));
        }
    }

    @Test
    void aResumedTwoWorkerRunEndsBitwiseWhereTheUninterruptedOneEnds(@TempDir Path dir) throws Exception {
        List<Batch> training = batches(7, 7, 1);
        List<Batch> validation = batches(3, 5, 2);
        LoraModel<DropoutMlp> reference = model(0.2);
        TrainingResult uninterrupted = trainer(config(2).build())
                .fit(reference.model(), training, validation, task(reference.model()));

        Path ckpt = dir.resolve("ckpt");
        LoraModel<DropoutMlp> dying = model(0.2);
        TrainingListener crash = step -> {
            if (step.step() == 11) {
                throw new IllegalStateException("simulated crash at step 11");
            }
        };
        assertThrows(IllegalStateException.class, () -> trainer(config(2).checkpointEvery(3, ckpt).build(), crash)
                .fit(dying.model(), training, validation, task(dying.model())));
        assertTrue(Files.exists(ckpt.resolve(TrainingCheckpoint.STATE_FILE)));

        LoraModel<DropoutMlp> resumedModel = model(0.2);
        TrainingResult resumed = trainer(config(2).checkpointEvery(3, ckpt).build())
                .resume(ckpt, resumedModel.model(), training, validation, task(resumedModel.model()));
        assertEquals(uninterrupted.losses(), resumed.losses(), "every step's loss, bit for bit");
        Map<String, INDArray> expected = trainable(reference.model());
        trainable(resumedModel.model()).forEach((name, value) -> assertTrue(Bitwise.equal(expected.get(name), value), name));
    }

    @Test
    void validationSpreadOverWorkersGivesExactlyTheOneThreadMetrics() {
        LoraModel<DropoutMlp> lora = model(0.0);
        TrainingTask<Batch> task = task(lora.model()).withPredictor(
                b -> new Predictor.Prediction(lora.model().forward(Tensor.constant(b.x())).value(), new int[b.size()]));
        List<Batch> validation = batches(9, 4, 3);
        Map<String, Double> alone = new Validator<>(lora.model(), validation, task, null).evaluate();
        Map<String, Double> spread;
        try (DataParallel<Batch> workers = DataParallel.create(lora.model(), task, config(2).build(),
                List.copyOf(trainableParameters(lora.model())))) {
            spread = new Validator<>(lora.model(), validation, task, workers).evaluate();
        }
        assertEquals(alone, spread);
        assertEquals(Set.of(TrainingConfig.VAL_LOSS, TrainingConfig.VAL_ACCURACY), alone.keySet());
    }

    @Test
    void aBatchSmallerThanTheWorkersTrainsOnFewerShards() {
        LoraModel<DropoutMlp> lora = model(0.2);
        TrainingResult result = trainer(config(3).epochs(1).build())
                .fit(lora.model(), batches(4, 2, 5), task(lora.model()));
        assertEquals(4, result.steps());
        assertTrue(result.losses().stream().allMatch(Double::isFinite), result.losses().toString());
    }

    @Test
    void aFailingShardFailsTheStepWithItsOwnError() {
        LoraModel<DropoutMlp> lora = model(0.0);
        DropoutMlp net = lora.model();
        TrainingTask<Batch> task = TrainingTask.<Batch>of(b -> {
            if (b.x().maxNumber().doubleValue() >= 99) {
                throw new IllegalArgumentException("example 4 is malformed");
            }
            return Functional.mse(net.forward(Tensor.constant(b.x())), Tensor.constant(b.y()));
        }, Batch::size).withSlicer(Batch::slice);
        Batch bad = batches(1, 6, 4).get(0);
        bad.x().putScalar(4, 0, 99); // in the second shard
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> trainer(config(2).epochs(1).build()).fit(net, List.of(bad), task));
        assertEquals("example 4 is malformed", e.getMessage());
    }

    @Test
    void severalWorkersNeedATaskThatSlicesItsBatches() {
        LoraModel<DropoutMlp> lora = model(0.0);
        DropoutMlp net = lora.model();
        TrainingTask<Batch> unsliceable = TrainingTask.of(
                b -> Functional.mse(net.forward(Tensor.constant(b.x())), Tensor.constant(b.y())), Batch::size);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> trainer(config(2).build()).fit(net, batches(2, 4, 1), unsliceable));
        assertEquals("TrainingConfig.workers is 2, but the task cannot split its batches between workers: give it one"
                + " with TrainingTask.withSlicer", e.getMessage());
        // the default (one per core) trains such a task on one worker, as before
        assertEquals(2, trainer(config(TrainingConfig.AUTO_WORKERS).epochs(1).build())
                .fit(net, batches(2, 4, 1), unsliceable).steps());
    }

    /** A model with BatchNorm, whose running statistics training updates. */
    static class Normed extends Module {
        final BatchNorm2d norm = new BatchNorm2d(2);
        final Linear head = new Linear(8, 1);

        Tensor forward(INDArray x) {
            return head.forward(norm.forward(Tensor.constant(x)).reshape(x.size(0), 8));
        }
    }

    @Test
    void severalWorkersRefuseBuffersThatTrainingUpdates() {
        Normed model = new Normed();
        List<INDArray> data = List.of(Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 4, 2, 2, 2));
        TrainingTask<INDArray> task = TrainingTask.<INDArray>of(
                        x -> Functional.mse(model.forward(x), Tensor.constant(Nd4j.zeros(x.size(0), 1))), x -> (int) x.size(0))
                .withSlicer((x, from, to) -> x.get(NDArrayIndex.interval(from, to)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> trainer(config(2).epochs(1).build()).fit(model, data, task));
        assertTrue(e.getMessage().startsWith("TrainingConfig.workers is 2, but the model has buffers that training"
                + " updates [norm.running_mean"), e.getMessage());
        try (DataParallel<INDArray> auto = DataParallel.create(model, task, config(TrainingConfig.AUTO_WORKERS).build(),
                trainableParameters(model))) {
            assertEquals(1, auto.workers(), "the default falls back to one worker");
        }
    }

    @Test
    void theWorkerCountIsChecked() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainingConfig.builder().workers(-1).build());
        assertTrue(e.getMessage().contains("workers"), e.getMessage());
        assertEquals(TrainingConfig.AUTO_WORKERS, TrainingConfig.defaults().workers());
    }

    static List<Parameter> trainableParameters(Module model) {
        return model.namedParameters().values().stream().filter(Parameter::isTrainable).toList();
    }
}
