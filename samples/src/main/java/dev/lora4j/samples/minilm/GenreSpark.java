package dev.lora4j.samples.minilm;

import dev.lora4j.api.TrainingListener;
import dev.lora4j.guice.Lora4j;
import dev.lora4j.nn.Init;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.spark.ExecutorShared;
import dev.lora4j.spark.SparkTrainer;
import dev.lora4j.spark.SparkTrainingResult;
import dev.lora4j.train.ConsoleProgress;
import dev.lora4j.train.TrainingResult;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The main job's training on Apache Spark ({@code finetune --model minilm-genres --spark local[2]}):
 * one barrier task per task slot of the master, each with its own adapters over one shared copy of
 * MiniLM's frozen weights per JVM ({@link ExecutorShared}), exchanging only the adapters' and the
 * head's gradients ({@link SparkTrainer}). The trained values come back to the driver's model, which
 * the job then evaluates, saves and merges as after in-process training.
 */
final class GenreSpark {

    /** The key of the shared pretrained weights in each JVM. */
    static final String WEIGHTS = "all-MiniLM-L6-v2 weights";

    private GenreSpark() {}

    /**
     * Trains {@code model}'s adapters on Spark; {@code model} holds the trained values afterwards.
     *
     * @param listeners the driver's listeners; task 0 notifies them when it runs in this JVM (local
     *     mode), otherwise it logs its progress on its executor
     */
    static TrainingResult train(FineTuneOptions options, String master, List<GenreData.Batch> train,
            MiniLmClassifier model, List<TrainingListener> listeners, PrintStream out) {
        String run = "minilm-genres " + UUID.randomUUID();
        ExecutorShared.get(run, List.class, () -> listeners);
        SparkConf conf = new SparkConf().setMaster(master).setAppName("lora4j minilm-genres")
                .setIfMissing("spark.ui.enabled", "false");
        try (JavaSparkContext spark = new JavaSparkContext(conf)) {
            int tasks = spark.defaultParallelism();
            out.printf(Locale.ROOT, "== Spark %s: %d tasks, one per task slot%n", spark.version(), tasks);
            SparkTrainingResult result = SparkTrainer.tasks(tasks)
                    .fit(spark.parallelize(train, tasks), new Job(options.toBuilder().outputDir(null).build(), run, train.size()));
            result.applyTo(model);
            out.printf(Locale.ROOT, "== Spark: %,d bytes exchanged per step by all tasks (each sends %,d to each other),"
                    + " %.1f s of task 0's time in the exchange%n", result.bytesSentPerStep(), result.messageBytes(),
                    result.exchangeTime().toMillis() / 1000.0);
            return result.training();
        } finally {
            ExecutorShared.remove(run);
            ExecutorShared.remove(WEIGHTS); // the driver's JVM: the job's model may merge into its own weights later
        }
    }

    /** What each task runs: the main job's model, task and training configuration. */
    static final class Job extends GenreBatchJob {

        private static final long serialVersionUID = 1L;

        private final FineTuneOptions options;
        private final String run;
        private final int trainBatches;

        Job(FineTuneOptions options, String run, int trainBatches) {
            this.options = options;
            this.run = run;
            this.trainBatches = trainBatches;
        }

        @Override
        public Setup<GenreData.Batch> setUp() {
            OnnxWeights weights = ExecutorShared.get(WEIGHTS, OnnxWeights.class, OnnxWeights::minilm);
            Init.seed(options.seed());
            GenreFineTune.Adapted adapted = GenreFineTune.adapt(options, () -> MiniLm.sharing(weights));
            @SuppressWarnings("unchecked")
            List<TrainingListener> listeners = ExecutorShared.get(run, List.class,
                    () -> List.of(new ConsoleProgress()));
            return new Setup<>(adapted.model(), GenreFineTune.task(adapted.model()),
                    Lora4j.trainer(GenreFineTune.config(options, trainBatches).toBuilder().workers(1).build(),
                            listeners.toArray(TrainingListener[]::new)), // a task is one worker
                    GenreFineTune.batches(options, GenreData.Split.VALIDATION));
        }
    }
}
