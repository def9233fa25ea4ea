package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.TrainingListener;
import dev.lora4j.api.TrainingListener.StepReport;
import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class TrainerTest {

    /** y = x·w + b with one linear layer, in float32. */
    static final class Regression extends Module {
        final Linear lin;

        Regression(long seed) {
            lin = new Linear(3, 1, true, new Random(seed));
        }

        Tensor forward(Tensor x) {
            return lin.forward(x);
        }
    }

    record Batch(INDArray x, INDArray y) {
        int size() {
            return (int) x.size(0);
        }
    }

    /** {@code count} batches of 8 examples of y = x·(1, −2, 0.5) + 0.3. */
    static List<Batch> data(int count, long seed) {
        Random r = new Random(seed);
        List<Batch> batches = new ArrayList<>();
        for (int b = 0; b < count; b++) {
            double[][] x = new double[8][3];
            double[][] y = new double[8][1];
            for (int i = 0; i < 8; i++) {
                for (int j = 0; j < 3; j++) {
                    x[i][j] = r.nextGaussian();
                }
                y[i][0] = x[i][0] - 2 * x[i][1] + 0.5 * x[i][2] + 0.3;
            }
            batches.add(new Batch(Nd4j.createFromArray(x).castTo(DataType.FLOAT),
                    Nd4j.createFromArray(y).castTo(DataType.FLOAT)));
        }
        return batches;
    }

    static TrainingTask<Batch> task(Regression model) {
        return TrainingTask.of(b -> Functional.mse(model.forward(Tensor.constant(b.x())), Tensor.constant(b.y())),
                Batch::size);
    }

    static Trainer trainer(TrainingConfig config, TrainingListener... listeners) {
        return new Trainer(config, OptimizerFactory.adamW(0.0), ScheduleFactory.CONSTANT, Set.of(listeners));
    }

    static Map<String, INDArray> copyTrainable(Module model) {
        Map<String, INDArray> copy = new HashMap<>();
        model.namedParameters().forEach((name, p) -> {
            if (p.isTrainable()) {
                copy.put(name, p.value().dup());
            }
        });
        return copy;
    }

    static boolean sameWeights(Module model, Map<String, INDArray> copy) {
        for (Map.Entry<String, INDArray> e : copy.entrySet()) {
            if (!Arrays64.bitwiseEqual(model.namedParameters().get(e.getKey()).value(), e.getValue())) {
                return false;
            }
        }
        return true;
    }

    /** Weights after every step, via a listener. */
    static final class WeightRecorder implements TrainingListener {
        final Module model;
        final Map<Long, Map<String, INDArray>> byStep = new HashMap<>();

        WeightRecorder(Module model) {
            this.model = model;
        }

        @Override
        public void onStep(StepReport step) {
            byStep.put(step.step(), copyTrainable(model));
        }
    }

    @Test
    void linearRegressionLossGoesDown() {
        Regression model = new Regression(1);
        Parameter bias = model.lin.bias();
        bias.setTrainable(false);
        INDArray biasBefore = bias.value().dup();
        LossHistory history = new LossHistory();
        TrainingConfig config = TrainingConfig.builder().epochs(25).learningRate(0.05).maxGradNorm(5.0).build();

        TrainingResult result = trainer(config, history).fit(model, data(4, 7), data(2, 8), task(model));

        assertEquals(100, result.steps());
        assertEquals(StopReason.COMPLETED, result.stopReason());
        double first = result.losses().subList(0, 4).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double last = result.losses().subList(96, 100).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        assertTrue(last < 0.2 * first, "loss " + first + " -> " + last);
        assertEquals(25, result.evaluations().size());
        double valFirst = result.evaluations().get(0).metric(TrainingConfig.VAL_LOSS);
        assertTrue(result.bestMetric() < valFirst);
        assertArrayEquals(history.losses(), result.losses().stream().mapToDouble(Double::doubleValue).toArray());
        assertTrue(Arrays64.bitwiseEqual(biasBefore, bias.value()), "a frozen parameter never changes");
        assertNull(bias.grad());
        assertFalse(model.isTraining(), "fit leaves the model in evaluation mode");
    }

    @Test
    void trainsInTrainingModeAndValidatesInEvalModeWithoutGraph() {
        Regression model = new Regression(2);
        List<String> modes = new ArrayList<>();
        TrainingTask<Batch> task = TrainingTask.of(b -> {
            modes.add((model.isTraining() ? "train" : "eval") + "/" + (GradMode.isEnabled() ? "grad" : "nograd"));
            return task(model).loss(b);
        }, Batch::size);
        TrainingConfig config = TrainingConfig.builder().epochs(1).learningRate(0.01).build();

        trainer(config).fit(model, data(2, 1), data(1, 2), task);

        assertEquals(List.of("train/grad", "train/grad", "eval/nograd"), modes);
    }

    @Test
    void earlyStoppingRestoresTheBestWeights() {
        Regression model = new Regression(3);
        double[] script = {5.0, 4.0, 3.0, 3.5, 3.2, 1.0, 0.5};
        AtomicInteger evaluationsRun = new AtomicInteger();
        TrainingTask<Batch> task = task(model)
                .withEvaluator(validation -> Map.of("score", script[evaluationsRun.getAndIncrement()]));
        TrainingConfig config = TrainingConfig.builder()
                .epochs(10).learningRate(0.05)
                .evalEverySteps(1).evalEveryEpoch(false)
                .monitor("score", MetricGoal.MINIMIZE).earlyStopping(2, 0.0)
                .build();
        WeightRecorder weights = new WeightRecorder(model);

        TrainingResult result = trainer(config, weights).fit(model, data(3, 4), data(1, 5), task);

        assertTrue(result.stoppedEarly());
        assertEquals(StopReason.EARLY_STOPPING, result.stopReason());
        assertEquals(5, result.steps(), "two evaluations without improvement after the best at step 3");
        assertEquals(3, result.bestStep());
        assertEquals(3.0, result.bestMetric());
        assertEquals(5, result.evaluations().size());
        assertTrue(sameWeights(model, weights.byStep.get(3L)), "the weights after step 3, bit for bit");
        assertFalse(sameWeights(model, weights.byStep.get(5L)));
    }

    @Test
    void withoutRestoringTheLastWeightsStay() {
        Regression model = new Regression(3);
        double[] script = {5.0, 4.0, 6.0};
        AtomicInteger calls = new AtomicInteger();
        TrainingTask<Batch> task = task(model).withEvaluator(v -> Map.of("score", script[calls.getAndIncrement()]));
        TrainingConfig config = TrainingConfig.builder().epochs(1).learningRate(0.05).evalEverySteps(1)
                .monitor("score", MetricGoal.MINIMIZE).restoreBestWeights(false).build();
        WeightRecorder weights = new WeightRecorder(model);

        TrainingResult result = trainer(config, weights).fit(model, data(3, 4), data(1, 5), task);

        assertEquals(2, result.bestStep());
        assertTrue(sameWeights(model, weights.byStep.get(3L)));
    }

    /** A loss that is NaN at one chosen step (counting training calls only). */
    static TrainingTask<Batch> nanAt(Regression model, int badStep) {
        AtomicInteger calls = new AtomicInteger();
        TrainingTask<Batch> clean = task(model);
        return TrainingTask.of(b -> {
            Tensor loss = clean.loss(b);
            // ND4J's scalar mul(NaN) silently multiplies by 1e-5, so multiply by a NaN tensor instead
            Tensor nan = Tensor.constant(Nd4j.scalar(loss.dataType(), Double.NaN));
            return calls.incrementAndGet() == badStep ? loss.mul(nan) : loss;
        }, Batch::size);
    }

    @Test
    void nanLossIsSkipped() {
        Regression model = new Regression(4);
        WeightRecorder weights = new WeightRecorder(model);
        TrainingConfig config = TrainingConfig.builder().epochs(2).learningRate(0.05)
                .nonFinitePolicy(NonFinitePolicy.SKIP_STEP).build();

        TrainingResult result = trainer(config, weights).fit(model, data(3, 4), nanAt(model, 4));

        assertEquals(6, result.steps());
        assertEquals(StopReason.COMPLETED, result.stopReason());
        assertEquals(1, result.nonFiniteEvents().size());
        NonFiniteEvent event = result.nonFiniteEvents().get(0);
        assertEquals(4, event.step());
        assertTrue(event.lossIsNonFinite());
        assertTrue(event.message().contains("step 4"), event.message());
        assertTrue(Double.isNaN(result.losses().get(3)));
        assertTrue(sameWeights(model, weights.byStep.get(6L)));
        Map<String, INDArray> before = weights.byStep.get(3L);
        Map<String, INDArray> after = weights.byStep.get(4L);
        before.forEach((name, value) -> assertTrue(Arrays64.bitwiseEqual(value, after.get(name)),
                "no update at the skipped step: " + name));
        assertTrue(model.parameters().stream().allMatch(p -> Double.isFinite(p.value().sumNumber().doubleValue())));
    }

    @Test
    void nanLossStops() {
        Regression model = new Regression(4);
        WeightRecorder weights = new WeightRecorder(model);
        TrainingConfig config = TrainingConfig.builder().epochs(2).learningRate(0.05)
                .nonFinitePolicy(NonFinitePolicy.STOP).build();

        TrainingResult result = trainer(config, weights).fit(model, data(3, 4), nanAt(model, 5));

        assertEquals(5, result.steps());
        assertEquals(StopReason.NON_FINITE, result.stopReason());
        assertTrue(result.nonFiniteEvents().get(0).message().startsWith("step 5 (epoch 2)"),
                result.nonFiniteEvents().get(0).message());
        assertTrue(sameWeights(model, weights.byStep.get(4L)), "the non-finite update was not applied");
    }

    @Test
    void nonFiniteGradientNamesTheParameter() {
        Regression model = new Regression(5);
        AtomicInteger calls = new AtomicInteger();
        TrainingTask<Batch> clean = task(model);
        // at step 2, a term whose value stays finite but whose float32 gradient overflows to infinity
        TrainingTask<Batch> task = TrainingTask.of(b -> {
            Tensor loss = clean.loss(b);
            if (calls.incrementAndGet() != 2) {
                return loss;
            }
            Tensor tiny = model.lin.weight().sum().mul(1e-20).mul(1e-20).mul(1e20).mul(1e20);
            return loss.add(tiny);
        }, Batch::size);
        TrainingConfig config = TrainingConfig.builder().epochs(1).learningRate(0.05)
                .nonFinitePolicy(NonFinitePolicy.SKIP_STEP).build();

        TrainingResult result = trainer(config).fit(model, data(3, 4), task);

        assertEquals(3, result.steps());
        NonFiniteEvent event = result.nonFiniteEvents().get(0);
        assertEquals(2, event.step());
        assertTrue(Double.isFinite(event.loss()));
        assertEquals("lin.weight", event.parameterName());
        assertTrue(event.message().contains("step 2") && event.message().contains("'lin.weight'"), event.message());
    }

    @Test
    void maxStepsAndStepEvaluationsWithAFinalOne() {
        Regression model = new Regression(6);
        TrainingConfig config = TrainingConfig.builder().epochs(10).maxSteps(5).evalEverySteps(2)
                .evalEveryEpoch(false).learningRate(0.01).build();

        TrainingResult result = trainer(config).fit(model, data(3, 1), data(1, 2), task(model));

        assertEquals(5, result.steps());
        assertEquals(StopReason.MAX_STEPS, result.stopReason());
        assertEquals(List.of(2L, 4L, 5L), result.evaluations().stream().map(Evaluation::step).toList());
        assertEquals(2, result.evaluations().get(2).epoch());
    }

    @Test
    void scheduledRateIsUsedPerStep() {
        Regression model = new Regression(7);
        LossHistory history = new LossHistory();
        TrainingConfig config = TrainingConfig.builder().epochs(2).warmupSteps(2).learningRate(1e-2).build();
        Trainer trainer = new Trainer(config, OptimizerFactory.sgd(0.9, true, 0.0), ScheduleFactory.LINEAR,
                Set.of(history));

        trainer.fit(model, data(3, 1), task(model));

        double[] rates = history.steps().stream().mapToDouble(StepReport::learningRate).toArray();
        assertArrayEquals(new double[] {0, 5e-3, 1e-2, 7.5e-3, 5e-3, 2.5e-3}, rates, 1e-15);
        assertTrue(history.stepsCsv().startsWith("step,epoch,loss,learning_rate,gradient_norm\n1,1,"));
    }

    @Test
    void sameSeedSameRun() {
        TrainingConfig config = TrainingConfig.builder().epochs(3).learningRate(0.05).seed(11).build();
        Regression a = new Regression(8);
        Regression b = new Regression(8);
        TrainingResult ra = trainer(config).fit(a, data(4, 3), task(a));
        TrainingResult rb = trainer(config).fit(b, data(4, 3), task(b));
        assertEquals(ra.losses(), rb.losses());
    }

    @Test
    void monitoredMetricMustExist() {
        Regression model = new Regression(9);
        TrainingConfig config = TrainingConfig.builder().monitor("f1", MetricGoal.MAXIMIZE).build();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> trainer(config).fit(model, data(1, 1), data(1, 2), task(model)));
        assertTrue(e.getMessage().contains("'f1'") && e.getMessage().contains("val_loss"), e.getMessage());
    }

    @Test
    void refusesAModelWithNothingToTrain() {
        Regression model = new Regression(10);
        model.freeze();
        assertThrows(IllegalStateException.class,
                () -> trainer(TrainingConfig.defaults()).fit(model, data(1, 1), task(model)));
    }
}
