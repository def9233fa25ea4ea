package dev.lora4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Module;
import dev.lora4j.testing.Bitwise;
import dev.lora4j.testing.DropoutMlp;
import dev.lora4j.train.OptimizerFactory;
import dev.lora4j.train.ScheduleFactory;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingResult;
import dev.lora4j.train.TrainingTask;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Training on Apache Spark in local mode ({@code local[2,2]}: two task slots, a failed stage tried
 * twice): the same weights as in-process training with two workers, a failing task reported clearly
 * or resumed from the last checkpoint, and bad input refused with an error naming it.
 */
class SparkTrainerTest {

    private static JavaSparkContext spark;

    @BeforeAll
    static void startSpark() {
        spark = new JavaSparkContext(new SparkConf().setMaster("local[2,2]").setAppName("lora4j-test")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1"));
    }

    @AfterAll
    static void stopSpark() {
        spark.stop();
    }

    /** A batch as plain arrays (batches travel between Spark's executors). */
    record Batch(float[][] x, float[][] y) implements Serializable {
        int size() {
            return x.length;
        }

        Batch slice(int from, int to) {
            return new Batch(Arrays.copyOfRange(x, from, to), Arrays.copyOfRange(y, from, to));
        }
    }

    static List<Batch> batches(int count, int size, long seed) {
        return DropoutMlp.examples(count, size, seed).stream().map(xy -> new Batch(xy[0], xy[1])).toList();
    }

    static LoraModel<DropoutMlp> model(double dropout) {
        return DropoutMlp.adapted(dropout);
    }

    static TrainingTask<Batch> task(DropoutMlp net) {
        return TrainingTask.<Batch>of(b -> Functional.mse(net.forward(Tensor.constant(Nd4j.createFromArray(b.x()))),
                        Tensor.constant(Nd4j.createFromArray(b.y()))), Batch::size)
                .withSlicer(Batch::slice);
    }

    static TrainingConfig.Builder config() {
        return TrainingConfig.builder().epochs(3).learningRate(2e-2).warmupSteps(3).maxGradNorm(0.5)
                .evalEverySteps(4).evalEveryEpoch(false).restoreBestWeights(false).seed(9);
    }

    /** The job the tests run: the model above, optionally failing once or always at a step. */
    static class NetJob implements SparkJob<Batch> {
        private static final long serialVersionUID = 1L;
        final double dropout;
        final String checkpoints;
        final int failAtStep;
        final boolean failOnlyFirstAttempt;

        NetJob(double dropout, String checkpoints, int failAtStep, boolean failOnlyFirstAttempt) {
            this.dropout = dropout;
            this.checkpoints = checkpoints;
            this.failAtStep = failAtStep;
            this.failOnlyFirstAttempt = failOnlyFirstAttempt;
        }

        @Override
        public Setup<Batch> setUp() {
            LoraModel<DropoutMlp> lora = model(dropout);
            DropoutMlp net = lora.model();
            TrainingTask<Batch> plain = task(net);
            AtomicInteger steps = new AtomicInteger();
            TrainingTask<Batch> task = TrainingTask.<Batch>of(b -> {
                TaskContext context = TaskContext.get();
                int call = net.isTraining() ? steps.incrementAndGet() : -1; // validation runs in evaluation mode
                if (failAtStep > 0 && context != null && context.partitionId() == 1 && call == failAtStep
                        && (!failOnlyFirstAttempt || context.stageAttemptNumber() == 0)) {
                    if (failOnlyFirstAttempt) {
                        throw new SimulatedCrash(); // the task dies: Spark retries the stage
                    }
                    throw new IllegalStateException("boom in the loss");
                }
                return plain.loss(b);
            }, Batch::size);
            TrainingConfig.Builder c = config();
            if (checkpoints != null) {
                c.checkpointEvery(2, Path.of(checkpoints));
            }
            return new Setup<>(net, task, trainer(c.build()), batches(3, 5, 2));
        }

        @Override
        public int size(Batch batch) {
            return batch.size();
        }

        @Override
        public Batch slice(Batch batch, int from, int to) {
            return batch.slice(from, to);
        }
    }

    static Trainer trainer(TrainingConfig config) {
        return new Trainer(config, OptimizerFactory.adamW(0.01), ScheduleFactory.LINEAR, Set.of());
    }

    static Map<String, INDArray> trainable(Module model) {
        return DropoutMlp.trainableValues(model);
    }

    /** In-process training with {@code workers} workers over the same batches and validation. */
    static TrainingResult inProcess(int workers, double dropout, List<Batch> training, Map<String, INDArray> weights) {
        LoraModel<DropoutMlp> lora = model(dropout);
        TrainingResult result = trainer(config().workers(workers).build()).fit(lora.model(), training, batches(3, 5, 2), task(lora.model()));
        weights.putAll(trainable(lora.model()));
        return result;
    }

    /**
     * The tolerance is zero: each task computes exactly the shard in-process worker k computes
     * (same examples, same per-example dropout masks, same share of the loss), and the shards'
     * gradients are summed in the same order, so the float32 results are the same bits.
     */
    @Test
    void twoTasksTrainTheSameWeightsAsTwoInProcessWorkersWithDropoutOffAndOn() {
        for (double dropout : new double[] {0.0, 0.2}) {
            List<Batch> training = batches(7, 7, 1);
            Map<String, INDArray> expected = new LinkedHashMap<>();
            TrainingResult reference = inProcess(2, dropout, training, expected);

            SparkTrainingResult result = SparkTrainer.tasks(2).fit(spark.parallelize(training, 3),
                    new NetJob(dropout, null, 0, false));

            assertEquals(expected.keySet(), result.parameters().keySet());
            expected.forEach((name, value) -> assertTrue(Bitwise.equal(value, result.parameters().get(name)),
                    "dropout " + dropout + ", " + name));
            assertEquals(reference.losses(), result.training().losses(), "dropout " + dropout);
            assertEquals(reference.evaluations(), result.training().evaluations(), "dropout " + dropout);
            assertEquals(21, result.training().steps());
            assertEquals(2, result.training().workers());
            LoraModel<DropoutMlp> fresh = model(dropout);
            result.applyTo(fresh.model());
            expected.forEach((name, value) -> assertTrue(Bitwise.equal(value,
                    fresh.model().namedParameters().get(name).value()), name));
        }
    }

    @Test
    void inputPartitionsThatAreEmptyOrUnevenDoNotChangeTheResult() {
        List<Batch> training = batches(3, 6, 4);
        SparkTrainingResult many = SparkTrainer.tasks(2).fit(spark.parallelize(training, 5),
                new NetJob(0.0, null, 0, false));
        SparkTrainingResult one = SparkTrainer.tasks(2).fit(spark.parallelize(training, 1),
                new NetJob(0.0, null, 0, false));
        many.parameters().forEach((name, value) -> assertTrue(Bitwise.equal(value, one.parameters().get(name)), name));
    }

    @Test
    void exchangesOnlyTheTrainableGradientsAndCountsTheBytes() {
        List<Batch> training = batches(7, 7, 1);
        SparkTrainingResult result = SparkTrainer.tasks(2).fit(spark.parallelize(training, 2),
                new NetJob(0.0, null, 0, false));
        long trainable = model(0.0).model().trainableParameterCount();
        // each task sends one message per step to the other: a 16-byte header, 4 bytes per trainable float, a length
        assertEquals(16 + 4 * trainable, result.messageBytes());
        assertEquals(2 * (4 + 16 + 4 * trainable), result.bytesSentPerStep(), "two tasks, one message each a step");
    }

    /** An exception in the job's code is not retried (it would fail again): one error, at once. */
    @Test
    void aTaskThatFailsFailsTheJobWithOneClearErrorAndNothingIsSaved(@TempDir Path dir) throws Exception {
        Path adapter = dir.resolve("adapter.bin");
        Files.write(adapter, new byte[] {1, 2, 3});
        SparkTrainingException e = assertThrows(SparkTrainingException.class, () -> {
            SparkTrainingResult result = SparkTrainer.tasks(2).fit(spark.parallelize(batches(7, 7, 1), 2),
                    new NetJob(0.0, null, 3, false));
            Files.write(adapter, new byte[] {9}); // never reached
        });
        assertTrue(e.getMessage().contains("task 1 of 2 failed at step 3"), e.getMessage());
        assertTrue(e.getMessage().contains("boom in the loss"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertEquals(List.of((byte) 1, (byte) 2, (byte) 3), bytes(Files.readAllBytes(adapter)));
    }

    /** A task that dies makes Spark retry the stage, which resumes from the last checkpoint. */
    @Test
    void aRetriedStageResumesFromTheLastCheckpointAndEndsWhereAnUninterruptedRunEnds(@TempDir Path dir) {
        List<Batch> training = batches(7, 7, 1);
        Map<String, INDArray> expected = new LinkedHashMap<>();
        inProcess(2, 0.2, training, expected);

        SparkTrainingResult result = SparkTrainer.tasks(2).fit(spark.parallelize(training, 2),
                new NetJob(0.2, dir.resolve("checkpoints").toString(), 9, true));

        assertEquals(1, result.stageAttempt(), "the first attempt failed at step 9");
        assertEquals(8, result.resumedFromStep(), "checkpoints every 2 steps: the last before step 9 is step 8");
        expected.forEach((name, value) -> assertTrue(Bitwise.equal(value, result.parameters().get(name)), name));
    }

    @Test
    void badInputIsRefusedWithAnErrorNamingIt() {
        SparkTrainingException empty = assertThrows(SparkTrainingException.class,
                () -> SparkTrainer.tasks(2).fit(spark.parallelize(List.<Batch>of(), 2), new NetJob(0.0, null, 0, false)));
        assertEquals("the training RDD holds no batches", empty.getMessage());

        List<Batch> training = new ArrayList<>(batches(3, 4, 1));
        training.add(1, batches(1, 1, 5).get(0));
        SparkTrainingException small = assertThrows(SparkTrainingException.class,
                () -> SparkTrainer.tasks(2).fit(spark.parallelize(training, 2), new NetJob(0.0, null, 0, false)));
        assertTrue(small.getMessage().contains("training batch 1 holds 1 example(s), fewer than the 2 Spark tasks"),
                small.getMessage());

        SparkTrainingException notSerializable = assertThrows(SparkTrainingException.class,
                () -> SparkTrainer.tasks(2).fit(spark.parallelize(batches(2, 4, 1), 2), new HoldsAModel()));
        assertTrue(notSerializable.getMessage().contains(HoldsAModel.class.getName())
                && notSerializable.getMessage().contains(DropoutMlp.class.getName()), notSerializable.getMessage());

        SparkTrainingException slots = assertThrows(SparkTrainingException.class,
                () -> SparkTrainer.tasks(3).fit(spark.parallelize(batches(2, 4, 1), 2), new NetJob(0.0, null, 0, false)));
        assertTrue(slots.getMessage().toLowerCase(java.util.Locale.ROOT).contains("slots"), slots.getMessage());

        SparkTrainingException setUp = assertThrows(SparkTrainingException.class,
                () -> SparkTrainer.tasks(2).fit(spark.parallelize(batches(2, 4, 1), 2), new FailsToSetUp()));
        assertEquals("Spark training failed: task 1 of 2 could not set up its model: java.lang.IllegalStateException:"
                + " no base model at /nowhere", setUp.getMessage());

        assertThrows(IllegalArgumentException.class, () -> SparkTrainer.tasks(0));
        IllegalArgumentException workers = assertThrows(IllegalArgumentException.class, () -> new SparkJob.Setup<>(
                model(0).model(), task(model(0).model()), trainer(config().workers(4).build()), List.of()));
        assertTrue(workers.getMessage().contains("choose the number of Spark tasks"), workers.getMessage());
    }

    /** A task that dies (as an executor that is lost): an Error, which lora4j does not catch. */
    static final class SimulatedCrash extends Error {
        private static final long serialVersionUID = 1L;

        SimulatedCrash() {
            super("simulated crash");
        }
    }

    /** A job whose set-up fails on task 1 (its peer must not wait for it forever). */
    static final class FailsToSetUp extends NetJob {
        private static final long serialVersionUID = 1L;

        FailsToSetUp() {
            super(0, null, 0, false);
        }

        @Override
        public Setup<Batch> setUp() {
            if (TaskContext.get().partitionId() == 1) {
                throw new IllegalStateException("no base model at /nowhere");
            }
            return super.setUp();
        }
    }

    /** A job that holds a model, which cannot travel to the executors. */
    static final class HoldsAModel extends NetJob {
        private static final long serialVersionUID = 1L;
        final DropoutMlp net = DropoutMlp.adapted(0).model();

        HoldsAModel() {
            super(0, null, 0, false);
        }
    }

    private static List<Byte> bytes(byte[] b) {
        List<Byte> out = new ArrayList<>();
        for (byte x : b) {
            out.add(x);
        }
        return out;
    }
}
