package dev.lora4j.samples.minilm;

import dev.lora4j.api.TrainingListener;
import dev.lora4j.guice.Lora4j;
import dev.lora4j.lora.AdapterFactory;
import dev.lora4j.nn.Init;
import dev.lora4j.pipeline.FineTuneData;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.pipeline.TrainableParts;
import dev.lora4j.spark.ExecutorShared;
import dev.lora4j.spark.SparkTrainer;
import dev.lora4j.spark.SparkTrainingResult;
import dev.lora4j.train.ConsoleProgress;
import dev.lora4j.train.Trainer;
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
     * @param trainer the driver's trainer: task 0 notifies its listeners when it runs in this JVM
     *     (local mode), otherwise it logs its progress on its executor
     */
    static TrainingResult train(GenreFineTune job, FineTuneOptions options, String master,
            FineTuneData<GenreData.Batch> data, MiniLmClassifier model, Trainer trainer, PrintStream out) {
        String run = "minilm-genres " + UUID.randomUUID();
        ExecutorShared.get(run, List.class, trainer::listeners);
        SparkConf conf = new SparkConf().setMaster(master).setAppName("lora4j minilm-genres")
                .setIfMissing("spark.ui.enabled", "false");
        try (JavaSparkContext spark = new JavaSparkContext(conf)) {
            int tasks = spark.defaultParallelism();
            out.printf(Locale.ROOT, "== Spark %s: %d tasks, one per task slot%n", spark.version(), tasks);
            SparkTrainingResult result = SparkTrainer.tasks(tasks).fit(spark.parallelize(data.train(), tasks),
                    new Job(options.toBuilder().outputDir(null).build(), run, data.train().size()));
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
            GenreFineTune job = new GenreFineTune();
            OnnxWeights weights = ExecutorShared.get(WEIGHTS, OnnxWeights.class, OnnxWeights::minilm);
            Init.seed(options.seed());
            TrainableParts.prepare(options, job);
            MiniLmClassifier model = GenreFineTune.classifier(MiniLm.sharing(weights), options);
            TrainableParts.apply(model, options, job.head(), AdapterFactory.standard());
            @SuppressWarnings("unchecked")
            List<TrainingListener> listeners = ExecutorShared.get(run, List.class,
                    () -> List.of(new ConsoleProgress()));
            Trainer trainer = Lora4j.injector().getInstance(Trainer.class)
                    .withConfig(job.training(options, trainBatches).toBuilder().workers(1).build()) // a task is one worker
                    .withListeners(listeners);
            List<GenreData.Batch> validation;
            try (MiniLmTokenizer tokenizer = MiniLmTokenizer.create(GenreFineTune.Parameters.of(options).maxLength())) {
                validation = GenreFineTune.batches(options, GenreData.Split.VALIDATION, tokenizer);
            }
            return new Setup<>(model, job.task(model), trainer, validation);
        }
    }
}
