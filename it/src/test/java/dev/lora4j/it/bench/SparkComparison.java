package dev.lora4j.it.bench;

import dev.lora4j.Lora;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.api.TrainingListener;
import dev.lora4j.cli.internal.ProcessDefaults;
import dev.lora4j.guice.Lora4j;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.samples.minilm.GenreBatchJob;
import dev.lora4j.samples.minilm.GenreData;
import dev.lora4j.samples.minilm.MiniLm;
import dev.lora4j.samples.minilm.MiniLmClassifier;
import dev.lora4j.samples.minilm.OnnxWeights;
import dev.lora4j.spark.ExecutorShared;
import dev.lora4j.spark.SparkTrainer;
import dev.lora4j.spark.SparkTrainingResult;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingTask;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * The main job's training step through Apache Spark in local mode ({@code local[2]}: two barrier
 * tasks exchanging their gradients over TCP) against the same step on two in-process workers,
 * alternating run by run in one JVM. Both are {@code Trainer} runs over the same batches of 32
 * sentences (MiniLM, LoRA r = 8 on query/value + head, dropout 0.1, AdamW, clipping), two epochs
 * of 12 batches each; the time per step is taken between task 0's step reports over the second
 * epoch, so Spark's job start, the routing of the shards, each task's model set-up and the growth
 * of each thread's step memory (new worker threads each {@code fit} in-process) are not in it; the
 * whole {@code fit} is reported apart. Also prints the bytes exchanged per step against what full
 * fine-tuning would exchange, and the time of one call of Spark's own {@code allGather} (why the
 * gradients do not travel through it).
 *
 * <p>{@code cd it && MAVEN_OPTS=-Xmx4g mvn -B -ntp -q exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=dev.lora4j.it.bench.SparkComparison -Dexec.args="5"} (rounds; default 5).
 */
public final class SparkComparison {

    private static final String WEIGHTS = "bench: all-MiniLM-L6-v2 weights";
    private static final String TIMER = "bench: step timer";
    private static final int BATCHES = 12;

    private SparkComparison() {}

    /** Step report times of task 0 (or of the in-process run). */
    static final class StepTimer implements TrainingListener {
        final List<Long> times = new ArrayList<>();

        @Override
        public void onStep(StepReport report) {
            times.add(System.nanoTime());
        }

        /**
         * Milliseconds per step over the second epoch (from the first epoch's last report to the
         * last one): the steady state, after each thread's step memory has grown to the longest
         * batch. Clears the record.
         */
        double millisPerStep() {
            if (times.size() != 2 * BATCHES) {
                throw new IllegalStateException(times.size() + " step reports, " + 2 * BATCHES + " expected");
            }
            double ms = (times.get(times.size() - 1) - times.get(BATCHES - 1)) / 1e6 / BATCHES;
            times.clear();
            return ms;
        }
    }

    /** The model of one task (or of the in-process run): the base shared per JVM, the agent's adapters. */
    static MiniLmClassifier model() {
        OnnxWeights weights = ExecutorShared.get(WEIGHTS, OnnxWeights.class, OnnxWeights::minilm);
        MiniLmClassifier model = new MiniLmClassifier(MiniLm.sharing(weights), GenreData.LABELS.size(), new Random(42));
        Lora.adopt(model);
        model.trainHead();
        return model;
    }

    static TrainingTask<GenreData.Batch> task(MiniLmClassifier model) {
        CrossEntropyLoss crossEntropy = new CrossEntropyLoss();
        return TrainingTask.of((GenreData.Batch b) -> crossEntropy.compute(model.forward(b.inputIds(),
                b.attentionMask()), b.labels()), GenreData.Batch::size).withSlicer(GenreData.Batch::slice);
    }

    static TrainingConfig config(int workers) {
        return TrainingConfig.builder().epochs(2).learningRate(1e-4).warmupSteps(1).maxGradNorm(1.0).seed(42)
                .workers(workers).build();
    }

    /** The job each Spark task runs. */
    static final class BenchJob extends GenreBatchJob {
        private static final long serialVersionUID = 1L;

        @Override
        public Setup<GenreData.Batch> setUp() {
            MiniLmClassifier model = model();
            StepTimer timer = ExecutorShared.get(TIMER, StepTimer.class, StepTimer::new);
            return new Setup<>(model, task(model), trainer(config(1), timer), List.of());
        }
    }

    /** Times Spark's own {@code allGather} between the tasks of a barrier stage: ms per call. */
    static final class AllGatherTimer extends AbstractFunction1<Iterator<Integer>, Iterator<Double>>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final int bytes;

        AllGatherTimer(int bytes) {
            this.bytes = bytes;
        }

        @Override
        public Iterator<Double> apply(Iterator<Integer> ignored) {
            BarrierTaskContext context = BarrierTaskContext.get();
            String message = "x".repeat(bytes);
            context.allGather(message); // the first call also waits for every task to start
            long start = System.nanoTime();
            int calls = 5;
            for (int i = 0; i < calls; i++) {
                context.allGather(message);
            }
            return CollectionConverters.asScala(List.of((System.nanoTime() - start) / 1e6 / calls).iterator());
        }
    }

    static double allGatherMillis(JavaSparkContext spark, int tasks, int bytes) {
        ClassTag<Double> tag = ClassTag$.MODULE$.apply(Double.class);
        List<Double> perTask = JavaRDD.fromRDD(spark.parallelize(List.of(0, 1), tasks).rdd().barrier()
                .mapPartitions(new AllGatherTimer(bytes), false, tag), tag).collect();
        return perTask.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
    }

    /** Runs {@code args[0]} rounds (default 5) and prints the comparison. */
    public static void main(String[] args) {
        ProcessDefaults.apply(); // as the command line runs the main job, before ND4J loads
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        LoraAgent.install();
        int n = 2;
        List<GenreData.Batch> batches = new MiniLmTraining(BATCHES).batches();
        StepTimer timer = ExecutorShared.get(TIMER, StepTimer.class, StepTimer::new);
        MiniLmClassifier local = model();
        Trainer inProcess = trainer(config(n), timer);
        SparkConf conf = new SparkConf().setMaster("local[" + n + "]").setAppName("lora4j SparkComparison")
                .set("spark.ui.enabled", "false");
        double load = ThreadComparison.load();
        Map<String, double[]> step = new LinkedHashMap<>();
        step.put(n + " in-process workers", new double[rounds]);
        step.put("Spark local[" + n + "]", new double[rounds]);
        double[] inProcessFit = new double[rounds];
        double[] sparkFit = new double[rounds];
        SparkTrainingResult last = null;
        try (JavaSparkContext spark = new JavaSparkContext(conf)) {
            for (int bytes : new int[] {10, 400_000}) {
                System.out.printf(Locale.ROOT, "Spark's BarrierTaskContext.allGather, %d tasks, %,d-byte messages:"
                        + " %.0f ms per call%n", n, bytes, allGatherMillis(spark, n, bytes));
            }
            JavaRDD<GenreData.Batch> rdd = spark.parallelize(batches, n).cache();
            rdd.count();
            for (int round = -1; round < rounds; round++) { // one untimed round first
                boolean sparkFirst = Math.floorMod(round, 2) == 1;
                for (int i = 0; i < 2; i++) {
                    long start = System.nanoTime();
                    if ((i == 0) == sparkFirst) {
                        last = SparkTrainer.tasks(n).fit(rdd, new BenchJob());
                        if (round >= 0) {
                            sparkFit[round] = (System.nanoTime() - start) / 1e6;
                            step.get("Spark local[" + n + "]")[round] = timer.millisPerStep();
                        }
                    } else {
                        inProcess.fit(local, batches, task(local));
                        if (round >= 0) {
                            inProcessFit[round] = (System.nanoTime() - start) / 1e6;
                            step.get(n + " in-process workers")[round] = timer.millisPerStep();
                        }
                    }
                    timer.times.clear();
                }
            }
        }
        System.out.printf(Locale.ROOT, "%d rounds of %d steps (batch %d), %d cores, load %.2f before, %.2f after%n",
                rounds, 2 * BATCHES, MiniLmTraining.BATCH, Runtime.getRuntime().availableProcessors(), load,
                ThreadComparison.load());
        double[] ratio = new double[rounds];
        double[] in = step.get(n + " in-process workers");
        double[] sp = step.get("Spark local[" + n + "]");
        for (int r = 0; r < rounds; r++) {
            ratio[r] = sp[r] / in[r];
        }
        step.forEach((name, t) -> System.out.printf(Locale.ROOT, "%-24s %6.0f ms/step  %5.1f sentences/s%n", name,
                WorkerComparison.median(t), MiniLmTraining.BATCH / (WorkerComparison.median(t) / 1e3)));
        System.out.printf(Locale.ROOT, "Spark step time ÷ in-process: %.2f× (IQR %.2f–%.2f)%n",
                WorkerComparison.median(ratio), WorkerComparison.quantile(ratio, 0.25),
                WorkerComparison.quantile(ratio, 0.75));
        System.out.printf(Locale.ROOT, "whole fit of %d steps: in-process %.1f s, Spark %.1f s (job start, routing,"
                + " model set-up per task included)%n", 2 * BATCHES, WorkerComparison.median(inProcessFit) / 1e3,
                WorkerComparison.median(sparkFit) / 1e3);
        long trainable = local.trainableParameterCount();
        long all = local.parameterCount();
        System.out.printf(Locale.ROOT, "exchanged per step: %,d bytes by all tasks (%,d per message, %,d trainable"
                + " floats); full fine-tuning's messages would be %,d bytes each: %.0f× more%n",
                last.bytesSentPerStep(), last.messageBytes(), trainable, 16 + 4 * all,
                (16.0 + 4 * all) / last.messageBytes());
        System.exit(0); // ND4J and DJL leave non-daemon threads behind
    }

    /** The bound trainer with {@code config}, notifying only {@code timer}. */
    private static Trainer trainer(TrainingConfig config, StepTimer timer) {
        return Lora4j.injector().getInstance(Trainer.class).withConfig(config).withListeners(List.of(timer));
    }
}
