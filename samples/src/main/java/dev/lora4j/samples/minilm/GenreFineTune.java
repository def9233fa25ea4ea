package dev.lora4j.samples.minilm;

import dev.lora4j.Lora;
import dev.lora4j.NativeThreads;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.api.TrainingListener;
import dev.lora4j.guice.Lora4j;
import dev.lora4j.io.AdapterFiles;
import dev.lora4j.io.AdapterSaveOptions;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.ParameterSummary;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Linear;
import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.pipeline.FineTuneReport;
import dev.lora4j.samples.shared.Predictions;
import dev.lora4j.samples.shared.TrainingCurve;
import dev.lora4j.train.ConsoleProgress;
import dev.lora4j.train.Inference;
import dev.lora4j.train.LossHistory;
import dev.lora4j.train.MetricGoal;
import dev.lora4j.train.Predictor;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingResult;
import dev.lora4j.train.TrainingTask;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The main job: LoRA fine-tuning of the pretrained all-MiniLM-L6-v2 encoder on the Brown Corpus
 * sentence-genre task (six classes), end to end.
 *
 * <ol>
 *   <li>self-attach the lora4j agent, <i>then</i> load MiniLM: the {@code @LoRA(rank = 8, alpha =
 *       16)} fields ({@code attention.self.query} and {@code value} of every layer) get their
 *       adapters while the model is constructed; {@code Lora.adopt} takes the model over and
 *       freezes the rest, and the new {@code classifier} head is made trainable explicitly
 *       (PEFT's {@code modules_to_save});</li>
 *   <li>print the trainable-parameter summary;</li>
 *   <li>fine-tune with AdamW, a progress bar, validation accuracy every half epoch, early stopping
 *       on it and the best weights restored;</li>
 *   <li>evaluate test accuracy; save the adapter in PEFT's layout; merge; check that merged and
 *       unmerged predictions agree; print a results table; draw the loss and accuracy curves.</li>
 * </ol>
 *
 * <p>A rank, alpha or targets other than the annotations' are applied with a {@link LoraConfig}
 * ({@code Lora.wrap}) instead of the agent; the same job also trains the head alone
 * ({@link FineTuneMode#HEAD_ONLY}) or every weight ({@link FineTuneMode#FULL}), for the comparison in RESULTS.md.
 * {@link #run(FineTuneOptions)} is the library call; {@link #main} parses options ({@code --help}).
 */
public final class GenreFineTune {

    /** The Hugging Face model the weights come from, written into adapter_config.json. */
    public static final String BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2";

    /**
     * The job's own settings, beyond {@link FineTuneOptions}: its {@linkplain
     * FineTuneOptions#parameters() parameters} ({@link GenresJob#MAX_LENGTH} and the others), read
     * with their defaults.
     *
     * @param maxLength tokens per sentence at most, {@code [CLS]} and {@code [SEP]} included
     * @param patience validations without improvement of the accuracy before stopping
     * @param trainPerClass training sentences per class (0: all 400)
     * @param evalPerClass validation and test sentences per class (0: all)
     */
    public record Parameters(int maxLength, int patience, int trainPerClass, int evalPerClass) {

        /** The defaults: 64 tokens, patience 4, every sentence. */
        public static final Parameters DEFAULTS = new Parameters(64, 4, 0, 0);

        /** Checks the values. */
        public Parameters {
            if (maxLength < 2 || patience < 0 || trainPerClass < 0 || evalPerClass < 0) {
                throw new IllegalArgumentException("invalid parameters: " + GenresJob.MAX_LENGTH + " " + maxLength
                        + " (at least 2), " + GenresJob.PATIENCE + " " + patience + ", " + GenresJob.TRAIN_PER_CLASS
                        + " " + trainPerClass + ", " + GenresJob.EVAL_PER_CLASS + " " + evalPerClass + " (at least 0)");
            }
        }

        /**
         * The parameters {@code options} give, {@link #DEFAULTS} for those they leave out.
         *
         * @throws IllegalArgumentException for a parameter that is not an integer, or an invalid value
         */
        public static Parameters of(FineTuneOptions options) {
            return new Parameters(options.intParameter(GenresJob.MAX_LENGTH, DEFAULTS.maxLength()),
                    options.intParameter(GenresJob.PATIENCE, DEFAULTS.patience()),
                    options.intParameter(GenresJob.TRAIN_PER_CLASS, DEFAULTS.trainPerClass()),
                    options.intParameter(GenresJob.EVAL_PER_CLASS, DEFAULTS.evalPerClass()));
        }

        /** As {@link FineTuneOptions#parameters()} entries. */
        public Map<String, String> asMap() {
            return Map.of(GenresJob.MAX_LENGTH, Integer.toString(maxLength), GenresJob.PATIENCE,
                    Integer.toString(patience), GenresJob.TRAIN_PER_CLASS, Integer.toString(trainPerClass),
                    GenresJob.EVAL_PER_CLASS, Integer.toString(evalPerClass));
        }
    }

    /**
     * The default run for {@code mode}: LoRA r = 8, alpha = 16 on query and value through the agent,
     * 3 epochs of batches of 32 sentences cut at 64 tokens, {@link #defaultLearningRate} for the
     * mode, output in {@code target/genre-finetune}, every {@link Parameters#DEFAULTS parameter}
     * written out. About 225 steps; a few minutes on two cores.
     */
    public static FineTuneOptions defaults(FineTuneMode mode) {
        return new FineTuneOptions(mode, 8, 16, List.of("query", "value"), true, 3, Long.MAX_VALUE, 32,
                defaultLearningRate(mode), 1, TrainingConfig.AUTO_WORKERS, 42, Path.of("target", "genre-finetune"),
                Parameters.DEFAULTS.asMap());
    }

    /** Whether the adapters {@code options} ask for are the {@code @LoRA} annotations' on MiniLm. */
    static boolean matchesAnnotations(FineTuneOptions options) {
        return options.mode() == FineTuneMode.LORA && options.rank() == 8 && options.alpha() == 16
                && options.targets().equals(List.of("query", "value"));
    }

    /**
     * What a run measured.
     *
     * @param options the options it ran with
     * @param door how the adapters were put on ({@code agent}, {@code LoraConfig}, or {@code none})
     * @param trainable trainable parameters
     * @param total all parameters (adapters included)
     * @param optimizerAndGradientBytes AdamW's two moment buffers plus the gradient buffers of the
     *     trainable parameters, float32: {@code trainable × 4 bytes × 3}
     * @param bestValidationAccuracy the validation accuracy of the restored weights
     * @param testAccuracy accuracy on the test split (unmerged)
     * @param mergedTestAccuracy accuracy on the test split after merging ({@code NaN} without adapters)
     * @param mergeAgreement the share of test sentences whose predicted class is the same merged and
     *     unmerged ({@code NaN} without adapters)
     * @param mergeMaxAbsDiff the largest logit difference between merged and unmerged ({@code NaN} without adapters)
     * @param training the training history
     * @param trainingTime the time training took (validation included)
     * @param totalTime the whole run, model loading included
     * @param adapterDir where the adapter was saved, or {@code null}
     * @param curve the PNG of the curves, or {@code null}
     * @param testLogits the unmerged test logits {@code [sentences, classes]}
     */
    public record Results(FineTuneOptions options, String door, long trainable, long total, long optimizerAndGradientBytes,
            double bestValidationAccuracy, double testAccuracy, double mergedTestAccuracy, double mergeAgreement,
            double mergeMaxAbsDiff, TrainingResult training, Duration trainingTime, Duration totalTime,
            Path adapterDir, Path curve, INDArray testLogits) {

        /** The run as the pipeline's report. */
        public FineTuneReport toReport() {
            FineTuneReport.MergeCheck merge = Double.isNaN(mergeAgreement) ? null
                    : new FineTuneReport.MergeCheck(mergedTestAccuracy, mergeAgreement, mergeMaxAbsDiff);
            return new FineTuneReport(GenresJob.NAME, options, trainable, total, training.steps(),
                    training.stopReason() + ", best at step " + training.bestStep(), bestValidationAccuracy, testAccuracy,
                    merge, trainingTime, totalTime, adapterDir, curve, java.util.Map.of("adapters put on by", door));
        }
    }

    private GenreFineTune() {}

    /**
     * Runs the job from the command line: {@code lora4j finetune --model minilm-genres} with {@code
     * args} as further options ({@code --help} lists them; {@code --param max-length=N},
     * {@code patience}, {@code train-per-class}, {@code eval-per-class} are this job's own).
     */
    public static void main(String[] args) {
        String[] command = new String[args.length + 3];
        command[0] = "finetune";
        command[1] = "--model";
        command[2] = GenresJob.NAME;
        System.arraycopy(args, 0, command, 3, args.length);
        dev.lora4j.cli.Main.main(command); // exits: ND4J and DJL leave non-daemon threads behind
    }

    /**
     * The learning rate each mode uses unless told otherwise: 1e-3 for LoRA (with the head), 3e-3 for
     * the head alone, 5e-5 for full fine-tuning (BERT's usual range; higher rates wreck the
     * pretrained weights).
     */
    public static double defaultLearningRate(FineTuneMode mode) {
        return switch (mode) {
            case LORA -> 1e-3;
            case HEAD_ONLY -> 3e-3;
            case FULL -> 5e-5;
        };
    }

    /** Runs the job with progress on the console. */
    public static Results run(FineTuneOptions options) {
        return run(options, new ConsoleProgress(), System.out);
    }

    /**
     * Runs the job.
     *
     * @param progress the training listener that shows progress
     * @param out where the steps of the job are reported
     */
    public static Results run(FineTuneOptions options, TrainingListener progress, PrintStream out) {
        return run(options, null, progress, out);
    }

    /**
     * Runs the job, training on Apache Spark when {@code sparkMaster} is given ({@link GenreSpark}).
     *
     * @param sparkMaster a Spark master URL such as {@code local[2]}, or {@code null} to train in
     *     this JVM on {@link FineTuneOptions#workers()} workers
     * @param progress the training listener that shows progress
     * @param out where the steps of the job are reported
     */
    public static Results run(FineTuneOptions options, String sparkMaster, TrainingListener progress, PrintStream out) {
        long start = System.nanoTime();
        NativeThreads.limit(options.threads());
        Init.seed(options.seed());

        // 1. the model, adapters put on as the options say
        out.println("== loading all-MiniLM-L6-v2 (" + options.describe() + ")");
        Adapted adapted = adapt(options, MiniLm::pretrained);
        MiniLmClassifier model = adapted.model();
        LoraModel<MiniLmClassifier> lora = adapted.lora();
        ParameterSummary summary = ParameterSummary.of(model);
        out.println(summary.line());

        // 2. the data
        List<GenreData.Batch> train;
        List<GenreData.Batch> validation;
        List<GenreData.Batch> test;
        int maxLength = Parameters.of(options).maxLength();
        try (MiniLmTokenizer tokenizer = MiniLmTokenizer.create(maxLength)) {
            train = batches(options, GenreData.Split.TRAIN, tokenizer);
            validation = batches(options, GenreData.Split.VALIDATION, tokenizer);
            test = batches(options, GenreData.Split.TEST, tokenizer);
        }
        out.printf(Locale.ROOT, "== %d training sentences in %d batches, %d validation, %d test (max %d tokens)%n",
                count(train), train.size(), count(validation), count(test), maxLength);

        // 3. training
        LossHistory history = new LossHistory();
        TrainingConfig config = config(options, train.size());
        long planned = Math.min(options.maxSteps(), (long) options.epochs() * train.size());
        out.printf(Locale.ROOT, "== fine-tuning: AdamW lr %s, %d steps planned, validation every %d steps%s%n",
                options.learningRate(), planned, config.evalEverySteps(),
                sparkMaster == null ? "" : ", on Apache Spark (" + sparkMaster + ")");
        long trainingStart = System.nanoTime();
        TrainingResult training = sparkMaster == null
                ? Lora4j.trainer(config, progress, history).fit(model, train, validation, task(model))
                : GenreSpark.train(options, sparkMaster, train, model, List.of(progress, history), out);
        Duration trainingTime = Duration.ofNanos(System.nanoTime() - trainingStart);
        out.printf(Locale.ROOT, "== %d steps in %s on %d %s%s (%s), best validation accuracy %.4f at step %d%n",
                training.steps(), FineTuneReport.duration(trainingTime), training.workers(),
                sparkMaster == null ? "worker" : "Spark task", training.workers() == 1 ? "" : "s", training.stopReason(),
                training.bestMetric(), training.bestStep());

        // 4. evaluation, saving, merging
        INDArray testLogits = logits(model, test);
        int[] testLabels = labels(test);
        double testAccuracy = Predictions.accuracy(testLogits, testLabels);
        out.printf(Locale.ROOT, "== test accuracy %.4f on %d sentences%n", testAccuracy, testLabels.length);

        Path adapterDir = null;
        double mergedAccuracy = Double.NaN;
        double agreement = Double.NaN;
        double maxDiff = Double.NaN;
        if (lora != null) {
            if (options.outputDir() != null) {
                adapterDir = options.outputDir().resolve("adapter");
                try {
                    AdapterFiles.saveAdapter(lora, LoraModel.DEFAULT_ADAPTER, adapterDir,
                            AdapterSaveOptions.defaults().withBaseModelNameOrPath(BASE_MODEL));
                    out.println("== adapter saved in PEFT's layout: " + adapterDir + " (" + tensorCount(adapterDir)
                            + " tensors)");
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot save the adapter in " + adapterDir, e);
                }
            }
            lora.safeMerge();
            INDArray merged = logits(model, test);
            mergedAccuracy = Predictions.accuracy(merged, testLabels);
            agreement = Predictions.agreement(testLogits, merged);
            maxDiff = Nd4j.math().abs(testLogits.sub(merged)).maxNumber().doubleValue();
            out.printf(Locale.ROOT, "== merged: predictions agree on %.2f%% of the test sentences, max |logit diff| %.2e%n",
                    100 * agreement, maxDiff);
        }

        Path curve = null;
        if (options.outputDir() != null) {
            try {
                Files.createDirectories(options.outputDir());
                Files.writeString(options.outputDir().resolve("steps.csv"), history.stepsCsv(), StandardCharsets.UTF_8);
                Files.writeString(options.outputDir().resolve("evaluations.csv"), history.evaluationsCsv(),
                        StandardCharsets.UTF_8);
                curve = TrainingCurve.write(history, options.describe(), options.outputDir().resolve("curve.png"));
                out.println("== curves: " + curve);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write into " + options.outputDir(), e);
            }
        }
        long trainable = summary.trainable();
        return new Results(options, adapted.door(), trainable, summary.total(), trainable * 4 * 3, training.bestMetric(),
                testAccuracy, mergedAccuracy, agreement, maxDiff, training, trainingTime,
                Duration.ofNanos(System.nanoTime() - start), adapterDir, curve, testLogits);
    }

    /**
     * A model with its adapters and how they were put on.
     *
     * @param model the classifier
     * @param lora the adapted model, {@code null} without adapters
     * @param door how the adapters were put on ({@code agent}, {@code LoraConfig}, or {@code none})
     */
    record Adapted(MiniLmClassifier model, LoraModel<MiniLmClassifier> lora, String door) {}

    /**
     * The classifier over an encoder from {@code encoders}, adapters put on as the options say: the
     * agent (installed first, so that the {@code @LoRA} fields get adapters as the encoder is
     * constructed) when the options equal the annotations, else a {@link LoraConfig}; or none.
     */
    static Adapted adapt(FineTuneOptions options, java.util.function.Supplier<MiniLm> encoders) {
        boolean viaAgent = options.agent() && matchesAnnotations(options);
        if (viaAgent) {
            LoraAgent.install(); // before the model class is constructed: the agent adapts @LoRA fields at construction
        }
        MiniLm encoder = encoders.get();
        MiniLmClassifier model = new MiniLmClassifier(encoder, GenreData.LABELS.size(), new Random(options.seed()));
        if (viaAgent) {
            // freezes everything but the adapters the agent attached, and the new head trains in full (modules_to_save)
            return new Adapted(model, Lora.adopt(model, MiniLmClassifier.HEAD), "agent");
        }
        removeAgentAdapters(model);
        return switch (options.mode()) {
            case LORA -> new Adapted(model, Lora.wrap(model, LoraConfig.builder().rank(options.rank())
                    .alpha(options.alpha()).targetModules(options.targets().toArray(String[]::new))
                    .modulesToSave(MiniLmClassifier.HEAD).seed(options.seed()).build()), "LoraConfig");
            case HEAD_ONLY -> {
                model.freeze();
                model.trainHead();
                yield new Adapted(model, null, "none");
            }
            case FULL -> {
                model.unfreeze();
                yield new Adapted(model, null, "none");
            }
        };
    }

    /** The batches of one split, bucketed by length and shuffled with the options' seed. */
    static List<GenreData.Batch> batches(FineTuneOptions options, GenreData.Split split) {
        try (MiniLmTokenizer tokenizer = MiniLmTokenizer.create(Parameters.of(options).maxLength())) {
            return batches(options, split, tokenizer);
        }
    }

    /** The batches of one split, tokenized by {@code tokenizer}. */
    static List<GenreData.Batch> batches(FineTuneOptions options, GenreData.Split split, MiniLmTokenizer tokenizer) {
        List<GenreData.Example> examples = GenreData.load(split);
        Parameters parameters = Parameters.of(options);
        int perClass = split == GenreData.Split.TRAIN ? parameters.trainPerClass() : parameters.evalPerClass();
        if (perClass > 0) {
            examples = GenreData.perClass(examples, perClass);
        }
        return GenreData.batches(examples, tokenizer, options.batchSize(), options.seed());
    }

    /** Cross-entropy over the head's logits; batches split by sentence; accuracy for validation. */
    static TrainingTask<GenreData.Batch> task(MiniLmClassifier model) {
        CrossEntropyLoss crossEntropy = new CrossEntropyLoss();
        return TrainingTask
                .of((GenreData.Batch b) -> crossEntropy.compute(model.forward(b.inputIds(), b.attentionMask()), b.labels()),
                        GenreData.Batch::size)
                .withSlicer(GenreData.Batch::slice)
                .withPredictor(b -> new Predictor.Prediction(model.forward(b.inputIds(), b.attentionMask()).value(),
                        b.labels()));
    }

    /**
     * AdamW with linear warm-up over 10 % of the steps, clipping at 1, validation every half epoch,
     * early stopping on the validation accuracy and the best weights restored.
     */
    static TrainingConfig config(FineTuneOptions options, int trainBatches) {
        long planned = Math.min(options.maxSteps(), (long) options.epochs() * trainBatches);
        return TrainingConfig.builder()
                .epochs(options.epochs()).maxSteps(options.maxSteps()).learningRate(options.learningRate())
                .warmupSteps(Math.max(1, planned / 10)).maxGradNorm(1.0)
                .evalEverySteps(Math.max(1, trainBatches / 2)).evalEveryEpoch(false)
                .monitor(TrainingConfig.VAL_ACCURACY, MetricGoal.MAXIMIZE)
                .earlyStopping(Math.max(1, Parameters.of(options).patience()), 0.0).restoreBestWeights(true)
                .seed(options.seed()).workers(options.workers()).build();
    }

    /**
     * Takes off adapters the agent may have attached at construction (when it runs in this JVM and
     * these options do not use it), so that every mode starts from the plain encoder.
     */
    private static void removeAgentAdapters(MiniLmClassifier model) {
        for (var module : model.namedModules().values()) {
            if (module instanceof Linear linear && LoraLayers.of(linear) != null) {
                linear.detachAdapters();
            }
        }
        model.unfreeze();
    }

    /**
     * The logits {@code [sentences, classes]} of {@code batches}, in order, in evaluation mode,
     * spread over one worker per core ({@link Inference}), each batch in two halves: a worker's
     * memory then holds the forward pass of half a batch, as a training step on two workers does
     * (halves on any machine, so that the logits do not depend on its number of cores).
     */
    public static INDArray logits(MiniLmClassifier model, List<GenreData.Batch> batches) {
        List<GenreData.Batch> pieces = new ArrayList<>();
        for (GenreData.Batch b : batches) {
            int half = b.size() / 2;
            if (half > 0) {
                pieces.add(b.slice(0, half));
            }
            pieces.add(b.slice(half, b.size()));
        }
        List<INDArray> parts = Inference.outputs(model, pieces, b -> model.forward(b.inputIds(), b.attentionMask()),
                TrainingConfig.AUTO_WORKERS);
        return Nd4j.vstack(parts.toArray(INDArray[]::new));
    }

    /** The labels of {@code batches}, in order. */
    public static int[] labels(List<GenreData.Batch> batches) {
        return batches.stream().flatMapToInt(b -> Arrays.stream(b.labels())).toArray();
    }

    private static int tensorCount(Path adapterDir) throws IOException {
        try (SafetensorsFile file = SafetensorsFile.open(adapterDir.resolve(AdapterFiles.WEIGHTS_FILE))) {
            return file.tensors().size();
        }
    }

    private static int count(List<GenreData.Batch> batches) {
        return batches.stream().mapToInt(GenreData.Batch::size).sum();
    }
}
