package dev.lora4j.pipeline;

import dev.lora4j.NativeThreads;
import dev.lora4j.api.TrainingListener;
import dev.lora4j.io.AdapterFiles;
import dev.lora4j.io.CheckpointMerger;
import dev.lora4j.io.ModelCheckpoint;
import dev.lora4j.lora.AdapterFactory;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.MergeStrategy;
import dev.lora4j.lora.ParameterSummary;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Module;
import dev.lora4j.pipeline.internal.Classifications;
import dev.lora4j.pipeline.internal.RunFiles;
import dev.lora4j.train.LossHistory;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingResult;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs any {@link FineTuneJob}, the same way for every job: what trains as the options' mode says
 * (adapters through the agent or the bound {@link AdapterFactory}, plus the head; the head alone;
 * every weight) → training with the bound {@link Trainer} (its optimizer, schedules and listeners;
 * the job's configuration) → test accuracy → the adapter saved in PEFT's layout → merged with the
 * bound {@link MergeStrategy} and compared with the unmerged model (and, for a job whose weights
 * come from a checkpoint, merged into that file without a model) → the curves and a report.
 *
 * <pre>{@code
 * FineTuneRunner runner = Lora4j.injector(myOverrides).getInstance(FineTuneRunner.class);
 * FineTuneReport report = runner.run(job, job.defaults(FineTuneMode.LORA), System.out);
 * }</pre>
 *
 * <p>With an output directory, a run writes {@code adapter/} (PEFT's layout), {@code steps.csv},
 * {@code evaluations.csv}, {@code curve.png} and, for a job with a checkpoint, {@code
 * merged.safetensors} into it.
 */
public final class FineTuneRunner {

    /** The adapter directory's name in the output directory. */
    public static final String ADAPTER_DIR = "adapter";
    /** The model-free merged checkpoint's name in the output directory. */
    public static final String MERGED_CHECKPOINT = "merged.safetensors";

    private final AdapterFactory adapters;
    private final MergeStrategy merger;
    private final Trainer trainer;

    /** A runner over the given parts (Guice supplies the bound ones). */
    @Inject
    public FineTuneRunner(AdapterFactory adapters, MergeStrategy merger, Trainer trainer) {
        this.adapters = Objects.requireNonNull(adapters, "adapters");
        this.merger = Objects.requireNonNull(merger, "merger");
        this.trainer = Objects.requireNonNull(trainer, "trainer");
    }

    /**
     * Runs {@code job} with {@code options}.
     *
     * @param out where the stages are reported
     * @throws IllegalArgumentException when the options do not suit the job (an unknown parameter,
     *     a bad value, a head or target the model lacks)
     * @throws IOException when reading data or writing outputs fails
     */
    public <M extends Module, B> FineTuneReport run(FineTuneJob<M, B> job, FineTuneOptions options, PrintStream out)
            throws IOException {
        FineTuneJobs.checkParameters(job, options);
        job.check(options);
        long start = System.nanoTime();
        NativeThreads.limit(options.threads());
        Init.seed(options.seed());
        FineTuneContext context = new FineTuneContext(options, trainer, out);

        out.println("== " + job.name() + ": " + options.describe());
        TrainableParts.prepare(options, job);
        M model = job.model(context);
        TrainableParts<M> parts = TrainableParts.apply(model, options, job.head(), adapters);
        ParameterSummary summary = ParameterSummary.of(model);
        out.println(summary.line());

        FineTuneData<B> data = job.data(options);
        out.printf(Locale.ROOT, "== %d training examples in %d batches, %d validation, %d test%n",
                count(job, data.train()), data.train().size(), count(job, data.validation()), count(job, data.test()));

        TrainingConfig config = job.training(options, data.train().size());
        long planned = Math.min(config.maxSteps(), (long) config.epochs() * data.train().size());
        out.printf(Locale.ROOT, "== fine-tuning: AdamW lr %s, %d steps planned, validation every %d steps%n",
                config.learningRate(), planned, config.evalEverySteps());
        LossHistory history = new LossHistory();
        List<TrainingListener> listeners = new ArrayList<>(trainer.listeners());
        listeners.add(history);
        long trainingStart = System.nanoTime();
        TrainingResult training = job.train(context, model, data, job.task(model),
                trainer.withConfig(config).withListeners(listeners));
        Duration trainingTime = Duration.ofNanos(System.nanoTime() - trainingStart);
        out.printf(Locale.ROOT, "== %d steps in %s on %d worker%s (%s), best %s %.4f at step %d%n", training.steps(),
                FineTuneReport.duration(trainingTime), training.workers(), training.workers() == 1 ? "" : "s",
                training.stopReason(), training.monitor(), training.bestMetric(), training.bestStep());

        Classifications test = Classifications.of(model, data.test(), b -> job.logits(model, b), job::labels);
        out.printf(Locale.ROOT, "== test accuracy %.4f on %d examples%n", test.accuracy(), test.counted());

        Path dir = options.outputDir();
        Path adapterDir = null;
        FineTuneReport.MergeCheck merge = null;
        LoraModel<M> lora = parts.lora();
        if (lora != null) {
            double checkpointDiff = Double.NaN;
            if (dir != null) {
                adapterDir = dir.resolve(ADAPTER_DIR);
                AdapterFiles.saveAdapter(lora, LoraModel.DEFAULT_ADAPTER, adapterDir, job.saveOptions());
                out.println("== adapter saved in PEFT's layout: " + adapterDir);
                checkpointDiff = mergeCheckpoint(job, context, adapterDir, dir.resolve(MERGED_CHECKPOINT), data.test(),
                        test);
            }
            merger.merge(lora);
            Classifications merged = Classifications.of(model, data.test(), b -> job.logits(model, b), job::labels);
            merge = new FineTuneReport.MergeCheck(merged.accuracy(), test.agreement(merged),
                    test.maxAbsDiff(merged), checkpointDiff);
            out.printf(Locale.ROOT, "== merged: predictions agree on %.2f%% of the test examples, max |logit diff| %.2e%n",
                    100 * merge.agreement(), merge.maxAbsLogitDiff());
        }

        Path curve = null;
        if (dir != null) {
            curve = RunFiles.write(history, job.name() + ": " + options.describe(), dir);
            out.println("== curves: " + curve);
        }
        return new FineTuneReport(job.name(), options, parts.by(), summary.trainable(), summary.total(), training,
                test.accuracy(), test.logits(), merge, trainingTime, Duration.ofNanos(System.nanoTime() - start),
                adapterDir, curve, context.details());
    }

    /**
     * Merges the saved adapter into the job's checkpoint without a model, loads the result into a
     * model built afresh, and returns the largest difference of its test logits from the adapted
     * model's; {@code NaN} when the job has no checkpoint.
     */
    private static <M extends Module, B> double mergeCheckpoint(FineTuneJob<M, B> job, FineTuneContext context,
            Path adapterDir, Path merged, List<B> test, Classifications adapted) throws IOException {
        @Nullable Path checkpoint = job.checkpoint(context);
        if (checkpoint == null) {
            return Double.NaN;
        }
        CheckpointMerger.merge(checkpoint, adapterDir, merged);
        M fresh = job.model(new FineTuneContext(context.options(), context.trainer(),
                new PrintStream(OutputStream.nullOutputStream())));
        ModelCheckpoint.load(fresh, merged);
        Classifications fromFile = Classifications.of(fresh, test, b -> job.logits(fresh, b), job::labels);
        double diff = adapted.maxAbsDiff(fromFile);
        context.out().printf(Locale.ROOT, "== adapter merged into %s without a model: max |logit diff| %.2e%n",
                merged, diff);
        return diff;
    }

    private static <B> long count(FineTuneJob<?, B> job, List<B> batches) {
        return batches.stream().mapToLong(job::size).sum();
    }
}
