package dev.lora4j.spark;

import dev.lora4j.spark.internal.BarrierTraining;
import dev.lora4j.spark.internal.FailureText;
import dev.lora4j.spark.internal.ShardRouting;
import dev.lora4j.spark.internal.TaskOutcome;
import dev.lora4j.spark.internal.TaskPartitioner;
import java.io.IOException;
import java.io.NotSerializableException;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.RDD;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * Data-parallel LoRA training on Apache Spark: {@code N} tasks train one model together, each on
 * shard {@code k} of every global batch, exchanging only the trainable parameters' gradients.
 *
 * <pre>{@code
 * JavaRDD<Batch> batches = sc.parallelize(trainingBatches, 4);     // global batches, in order
 * SparkTrainingResult result = SparkTrainer.tasks(2).fit(batches, new MyJob(baseModelPath));
 * result.applyTo(lora.model());                                    // a model built as MyJob builds it
 * Lora.save(lora, outputDir);
 * }</pre>
 *
 * <p><b>How.</b> The batches are numbered in the RDD's order and each is cut into {@code N}
 * shards (as in-process workers cut it, {@link SparkJob#slice}); shard {@code k} of every batch
 * goes to task {@code k}. The {@code N} tasks run in Spark's barrier mode (they start together),
 * each builds its model through the job, learns the others' addresses through one {@code
 * allGather}, and connects to them directly. Each step every task computes its shard's share of
 * the mean-loss gradient, sends it to every other task, and sums all of them in task order: every
 * task then applies the same clipped optimizer step to its own copy of the adapters, and the result
 * equals in-process training with {@code N} workers over the same batches
 * ({@link dev.lora4j.train.TrainingConfig.Builder#workers}). The driver receives task 0's trained
 * values, after checking that every task holds the same bits.
 *
 * <p><b>Faults.</b> A task that fails makes the others fail at their next exchange (its
 * connections close); Spark then retries the stage if its settings allow ({@code
 * spark.task.maxFailures}, {@code local[N,F]}), and a retried stage resumes from the last training
 * checkpoint when the job's configuration writes checkpoints
 * ({@link dev.lora4j.train.TrainingConfig.Builder#checkpointEvery}, into a directory every task can
 * read). Otherwise {@link #fit} throws one {@link SparkTrainingException} naming the task, the step
 * and the cause; nothing is saved, so an adapter saved earlier is left as it was.
 *
 * <p><b>Spark.</b> Spark is a {@code provided} dependency of lora4j: the application brings it
 * (Spark 4.0 was tested; on Java 17 it needed no {@code --add-opens} for this). Each task runs ND4J
 * on one native thread: give Spark one core per task.
 */
public final class SparkTrainer {

    private static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(30);

    private final int tasks;
    private final Duration exchangeTimeout;

    private SparkTrainer(int tasks, Duration exchangeTimeout) {
        this.tasks = tasks;
        this.exchangeTimeout = exchangeTimeout;
    }

    /**
     * A trainer on {@code tasks} Spark tasks (the cluster needs that many free task slots at once).
     *
     * @throws IllegalArgumentException when {@code tasks < 1}
     */
    public static SparkTrainer tasks(int tasks) {
        if (tasks < 1) {
            throw new IllegalArgumentException("Spark training needs at least 1 task, got " + tasks);
        }
        return new SparkTrainer(tasks, DEFAULT_TIMEOUT);
    }

    /**
     * This trainer, with tasks that give up on a peer silent for longer than {@code timeout}
     * (default 30 minutes: longer than any one step).
     */
    public SparkTrainer withExchangeTimeout(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("the exchange timeout must be positive, got " + timeout);
        }
        return new SparkTrainer(tasks, timeout);
    }

    /** The number of tasks. */
    public int tasks() {
        return tasks;
    }

    /**
     * Trains on {@code batches} (the global batches of one epoch, in order) as {@code job} says.
     *
     * @throws SparkTrainingException when the job cannot be sent to the executors, the RDD holds no
     *     batch, a batch has fewer examples than there are tasks, the cluster lacks task slots, or
     *     a task fails (and Spark does not retry it to success)
     */
    public <B> SparkTrainingResult fit(JavaRDD<B> batches, SparkJob<B> job) {
        Objects.requireNonNull(batches, "batches");
        Objects.requireNonNull(job, "job");
        requireSerializable(job);
        int slots = batches.context().defaultParallelism();
        if (tasks > slots) {
            throw new SparkTrainingException("Spark training on " + tasks + " tasks needs " + tasks + " task slots at"
                    + " once, but the cluster offers " + slots + " (its default parallelism); use at most " + slots
                    + " tasks or a larger cluster", null);
        }
        long count = run(batches::count);
        if (count == 0) {
            throw new SparkTrainingException("the training RDD holds no batches", null);
        }
        JavaPairRDD<Integer, dev.lora4j.spark.internal.RoutedShard<B>> routed = batches.zipWithIndex()
                .flatMapToPair(new ShardRouting<>(job, tasks))
                .partitionBy(new TaskPartitioner(tasks));
        ClassTag<TaskOutcome> tag = ClassTag$.MODULE$.apply(TaskOutcome.class);
        int timeout = (int) Math.min(Integer.MAX_VALUE, exchangeTimeout.toMillis());
        RDD<TaskOutcome> trained = routed.rdd().barrier().mapPartitions(new BarrierTraining<>(job, timeout), false, tag);
        // a shuffle after the barrier stage makes it a map stage, which Spark retries as a whole when a task
        // fails (a failed barrier result stage is not retried)
        JavaRDD<TaskOutcome> gathered = JavaRDD.fromRDD(trained, tag).repartition(1);
        List<TaskOutcome> outcomes = new ArrayList<>(run(gathered::collect));
        outcomes.sort(Comparator.comparingInt(TaskOutcome::task));
        return result(outcomes);
    }

    private SparkTrainingResult result(List<TaskOutcome> outcomes) {
        // the cause: the first task that failed on its own; the others lost it as a peer
        TaskOutcome failed = outcomes.stream().filter(o -> o.failure() != null && !o.peerLost()).findFirst()
                .orElse(outcomes.stream().filter(o -> o.failure() != null).findFirst().orElse(null));
        if (failed != null) {
            throw new SparkTrainingException("Spark training failed: " + failed.failure(), null);
        }
        TaskOutcome first = outcomes.get(0);
        for (TaskOutcome o : outcomes) {
            if (o.checksum() != first.checksum()) {
                throw new SparkTrainingException("task " + o.task() + " ended with other trained values than task 0"
                        + " (checksums " + Long.toHexString(o.checksum()) + " and " + Long.toHexString(first.checksum())
                        + "): the tasks' models or setups differ", null);
            }
        }
        Map<String, INDArray> values = new LinkedHashMap<>();
        first.values().forEach((name, data) -> {
            INDArray flat = data instanceof double[] d ? Nd4j.createFromArray(d) : Nd4j.createFromArray((float[]) data);
            values.put(name, flat.reshape('c', first.shapes().get(name)));
        });
        long sent = outcomes.stream().mapToLong(TaskOutcome::bytesSent).sum();
        long exchanges = Math.max(1, first.exchanges());
        return new SparkTrainingResult(first.result(), values, tasks, sent / exchanges, first.messageBytes(),
                Duration.ofNanos(first.exchangeNanos()), first.resumedFromStep(), first.stageAttempt());
    }

    /** Fails now, naming the culprit, when the job cannot be serialized for the executors. */
    private static void requireSerializable(SparkJob<?> job) {
        try (ObjectOutputStream out = new ObjectOutputStream(OutputStream.nullOutputStream())) {
            out.writeObject(job);
        } catch (NotSerializableException e) {
            throw new SparkTrainingException("the Spark job " + job.getClass().getName() + " cannot be sent to the"
                    + " executors: it holds a " + e.getMessage() + ", which is not serializable (keep paths and"
                    + " settings in the job and build models in setUp, or mark the field transient)", e);
        } catch (IOException e) {
            throw new SparkTrainingException("the Spark job " + job.getClass().getName() + " cannot be serialized: " + e,
                    e);
        }
    }

    /** Runs a Spark action, turning its failure into one clear exception. */
    private static <T> T run(SparkAction<T> action) {
        try {
            return action.run();
        } catch (Exception e) {
            throw new SparkTrainingException(describe(e), e);
        }
    }

    private static String describe(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String ours = FailureText.find(t.getMessage());
            if (ours != null) {
                return "Spark training failed: " + ours;
            }
        }
        String text = String.valueOf(e.getMessage());
        int newline = text.indexOf('\n');
        return "Spark training failed: " + (newline < 0 ? text : text.substring(0, newline));
    }

    @FunctionalInterface
    private interface SparkAction<T> {
        T run() throws Exception;
    }
}
