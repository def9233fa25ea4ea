package dev.lora4j.samples.vision;

import dev.lora4j.Lora;
import dev.lora4j.NativeThreads;
import dev.lora4j.api.TrainingListener;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.guice.Lora4j;
import dev.lora4j.io.AdapterFiles;
import dev.lora4j.io.CheckpointMerger;
import dev.lora4j.io.ModelCheckpoint;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.TensorInfo;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Init;
import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.samples.shared.Predictions;
import dev.lora4j.samples.shared.TrainingCurve;
import dev.lora4j.train.ConsoleProgress;
import dev.lora4j.train.LossHistory;
import dev.lora4j.train.MetricGoal;
import dev.lora4j.train.Predictor;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingResult;
import dev.lora4j.train.TrainingTask;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The vision sample, end to end: pretrain a small CNN ({@link SmallCnn}) on Fashion-MNIST classes
 * 0–4 and save it as a safetensors checkpoint; then adapt it to classes 5–9 (a new five-way head)
 * in several ways, each starting from that checkpoint, and compare test accuracy, trainable
 * parameters and training time:
 *
 * <ul>
 *   <li>{@code head}: the backbone frozen, only the new head trains;
 *   <li>{@code lora2}, {@code lora4}, {@code lora8}: LoRA (r = 2, 4, 8, alpha = 2r) on the three
 *       convolutions, the new head trained in full ({@code modules_to_save});
 *   <li>{@code full}: every weight trains (batch norm with batch statistics).
 * </ul>
 *
 * Each LoRA adapter is saved in PEFT's layout with {@link dev.lora4j.io.AdapterFiles}, merged into
 * the model (merged and unmerged logits compared) and, without a model, into the pretrained
 * checkpoint with {@link CheckpointMerger} (a fresh network loaded from that file must give the
 * same logits). Frozen batch norm layers keep their pretraining statistics (see {@link
 * dev.lora4j.nn.BatchNorm2d}).
 *
 * <p>Options: {@code --quick} (a short run for tests), {@code --variants head,lora2,lora4,lora8,full},
 * {@code --pretrain-steps N}, {@code --steps N} (adaptation steps per variant), {@code --out DIR}
 * (default {@code target/lora4j-vision}), {@code --seed N}, {@code --threads N} (ND4J's native
 * threads, default 1, see {@link NativeThreads}; 0 keeps ND4J's default).
 */
public final class VisionFineTune {

    /** Every variant, in the order they run. */
    public static final List<String> VARIANTS = List.of("head", "lora2", "lora4", "lora8", "full");

    /**
     * How long to train and what to compare.
     *
     * @param pretrainSteps training steps on classes 0–4
     * @param adaptSteps training steps of each adaptation on classes 5–9
     * @param batchSize images per step
     * @param variants which adaptations to run, from {@link #VARIANTS}
     * @param seed seeds initialisation and shuffling
     * @param out where the checkpoint, the adapters and the merged checkpoints go
     * @param threads ND4J's native threads (OpenMP, BLAS and its own pool), or 0 to leave ND4J's default
     */
    public record Settings(int pretrainSteps, int adaptSteps, int batchSize, List<String> variants, long seed, Path out,
            int threads) {
        /** Validates the variants. */
        public Settings {
            variants = List.copyOf(variants);
            for (String v : variants) {
                if (!VARIANTS.contains(v)) {
                    throw new IllegalArgumentException("unknown variant '" + v + "'; choose from " + VARIANTS);
                }
            }
        }

        /** The default run. */
        public static Settings standard() {
            return new Settings(500, 300, 64, VARIANTS, 7, Path.of("target", "lora4j-vision"), 1);
        }

        /** A short run for tests. */
        public static Settings quick(Path out) {
            return new Settings(30, 20, 64, List.of("head", "lora4"), 7, out, 1);
        }
    }

    /**
     * One adaptation's outcome.
     *
     * @param variant its name
     * @param description what trains
     * @param trainable trainable parameters
     * @param total all parameters of the adapted model (adapter factors included)
     * @param testAccuracy accuracy on the 1,000 test images of classes 5–9
     * @param trainSeconds wall time of training (validation passes included)
     * @param steps steps taken
     * @param adapterDir where the PEFT adapter was saved (LoRA only, else {@code null})
     * @param mergeMaxAbsDiff largest logit difference merged vs unmerged (LoRA only, else NaN)
     * @param checkpointMergeMaxAbsDiff largest logit difference between the adapted model and a
     *     fresh network loaded from the model-free merged checkpoint (LoRA only, else NaN)
     * @param mergedTestAccuracy test accuracy after merging (LoRA only, else NaN)
     * @param mergeAgreement share of test images predicted the same merged and unmerged (LoRA only, else NaN)
     * @param training the training history
     * @param curve the loss and accuracy curves as a PNG
     */
    public record Outcome(String variant, String description, long trainable, long total, double testAccuracy,
            double trainSeconds, long steps, Path adapterDir, double mergeMaxAbsDiff,
            double checkpointMergeMaxAbsDiff, double mergedTestAccuracy, double mergeAgreement,
            TrainingResult training, Path curve) {}

    /**
     * What the run measured.
     *
     * @param pretrainTestAccuracy the pretrained network on the test images of classes 0–4
     * @param pretrainSeconds wall time of pretraining
     * @param checkpoint the pretrained checkpoint
     * @param outcomes the adaptations, in run order
     * @param savedShapes tensor name → shape of the last saved adapter file
     */
    public record Results(double pretrainTestAccuracy, double pretrainSeconds, Path checkpoint, List<Outcome> outcomes,
            Map<String, long[]> savedShapes) {}

    private VisionFineTune() {}

    /** Runs the sample with command-line options (see the class comment). */
    public static void main(String[] args) throws IOException {
        Settings settings = parse(args);
        long start = System.nanoTime();
        Results results = run(settings);
        print(results, settings, (System.nanoTime() - start) / 1e9);
    }

    static Settings parse(String[] args) {
        Settings s = Settings.standard();
        int pretrain = s.pretrainSteps();
        int steps = s.adaptSteps();
        List<String> variants = s.variants();
        long seed = s.seed();
        Path out = s.out();
        int threads = s.threads();
        boolean quick = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--quick" -> quick = true;
                case "--variants" -> variants = List.of(value(args, ++i, arg).split(","));
                case "--pretrain-steps" -> pretrain = Integer.parseInt(value(args, ++i, arg));
                case "--steps" -> steps = Integer.parseInt(value(args, ++i, arg));
                case "--seed" -> seed = Long.parseLong(value(args, ++i, arg));
                case "--out" -> out = Path.of(value(args, ++i, arg));
                case "--threads" -> threads = Integer.parseInt(value(args, ++i, arg));
                default -> throw new IllegalArgumentException("unknown option " + arg
                        + "; options: --quick --variants LIST --pretrain-steps N --steps N --seed N --out DIR --threads N");
            }
        }
        if (quick) {
            Settings q = Settings.quick(out);
            return new Settings(q.pretrainSteps(), q.adaptSteps(), q.batchSize(),
                    List.of(args).contains("--variants") ? variants : q.variants(), seed, out, threads);
        }
        return new Settings(pretrain, steps, s.batchSize(), variants, seed, out, threads);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    /** Pretrains, saves, adapts every variant, saves and merges the adapters. */
    public static Results run(Settings settings) throws IOException {
        if (settings.threads() > 0) {
            NativeThreads.limit(settings.threads());
        }
        Files.createDirectories(settings.out());
        FashionTasks data = FashionTasks.load();
        Pretrained pretrained = pretrain(data, settings.pretrainSteps(), settings.batchSize(), settings.seed(),
                settings.out(), System.out);
        List<Outcome> outcomes = new ArrayList<>();
        Map<String, long[]> shapes = Map.of();
        int index = 2;
        for (String variant : settings.variants()) {
            System.out.print("== " + index++ + ". ");
            Outcome outcome = adapt(variantOptions(variant, settings), data, pretrained.checkpoint(),
                    new ConsoleProgress(ConsoleProgress.Mode.LINES, ConsoleProgress.DEFAULT_LINE_INTERVAL, System.out), System.out);
            if (outcome.adapterDir() != null) {
                shapes = shapes(outcome.adapterDir().resolve(AdapterFiles.WEIGHTS_FILE));
            }
            outcomes.add(outcome);
        }
        return new Results(pretrained.testAccuracy(), pretrained.seconds(), pretrained.checkpoint(), outcomes, shapes);
    }

    /**
     * The pretrained network: its checkpoint, its test accuracy on classes 0–4 and the time it took.
     *
     * @param reused whether an existing checkpoint was reused instead of training
     */
    public record Pretrained(Path checkpoint, double testAccuracy, double seconds, boolean reused) {}

    /**
     * Pretrains {@link SmallCnn} on classes 0–4 and saves it as {@code
     * pretrained-classes-0-4.safetensors} in {@code dir}, or reuses that file when an earlier run
     * wrote it with the same steps, batch size and seed (its metadata records them).
     */
    public static Pretrained pretrain(FashionTasks data, int steps, int batch, long seed, Path dir, PrintStream out)
            throws IOException {
        Path checkpoint = dir.resolve("pretrained-classes-0-4.safetensors");
        Map<String, String> recipe = Map.of("classes", "0-4", "steps", Integer.toString(steps), "batch",
                Integer.toString(batch), "seed", Long.toString(seed));
        if (Files.isRegularFile(checkpoint) && readMetadata(checkpoint).entrySet().containsAll(recipe.entrySet())) {
            SmallCnn model = new SmallCnn(5);
            ModelCheckpoint.load(model, checkpoint);
            double accuracy = accuracy(model, data.testA());
            out.printf(Locale.ROOT, "== 1. pretrained checkpoint reused: %s (test accuracy on classes 0-4 %.2f%%)%n",
                    checkpoint, 100 * accuracy);
            return new Pretrained(checkpoint, accuracy, 0, true);
        }
        out.println("== 1. pretraining on " + data.trainA().count() + " images of classes 0-4 ("
                + String.join(", ", FashionData.CLASSES.subList(0, 5)) + "), all weights train");
        Init.seed(seed);
        SmallCnn model = new SmallCnn(5);
        TrainingResult pretraining = Lora4j.trainer(trainingConfig(10_000, steps, 3e-3, seed),
                        new ConsoleProgress(ConsoleProgress.Mode.LINES, ConsoleProgress.DEFAULT_LINE_INTERVAL, out))
                .fit(model, FashionData.batches(data.trainA(), batch), FashionData.batches(data.validationA(), 500),
                        task(model));
        double accuracy = accuracy(model, data.testA());
        Files.createDirectories(dir);
        ModelCheckpoint.save(model, checkpoint, recipe);
        out.printf(Locale.ROOT, "test accuracy on classes 0-4: %.2f%%; checkpoint %s%n", 100 * accuracy, checkpoint);
        return new Pretrained(checkpoint, accuracy, pretraining.wallTime().toNanos() / 1e9, false);
    }

    /** The pipeline's options for one of the comparison's {@link #VARIANTS}. */
    static FineTuneOptions variantOptions(String variant, Settings settings) {
        FineTuneMode mode = switch (variant) {
            case "head" -> FineTuneMode.HEAD_ONLY;
            case "full" -> FineTuneMode.FULL;
            default -> FineTuneMode.LORA;
        };
        int rank = mode == FineTuneMode.LORA ? Integer.parseInt(variant.substring("lora".length())) : 4;
        return FashionCnnJob.defaultsFor(mode).toBuilder().rank(rank).alpha(2 * rank).maxSteps(settings.adaptSteps())
                .epochs(10_000).batchSize(settings.batchSize()).seed(settings.seed()).threads(Math.max(1, settings.threads()))
                .outputDir(settings.out()).build();
    }

    /**
     * One adaptation to classes 5–9, the steps every fine-tuning job takes: a fresh network from
     * the pretrained {@code checkpoint} with a new five-way head; the head alone, LoRA on the
     * options' target convolutions plus the head ({@code modules_to_save}), or every weight,
     * trained with {@code progress} and the curves drawn; test accuracy; for LoRA the adapter saved
     * in PEFT's layout, merged into the checkpoint without a model and into the model, both
     * compared with the unmerged outputs.
     */
    public static Outcome adapt(FineTuneOptions options, FashionTasks data, Path checkpoint, TrainingListener progress,
            PrintStream out) throws IOException {
        SmallCnn adapted = new SmallCnn(5);
        ModelCheckpoint.load(adapted, checkpoint);
        adapted.replaceHead(5, new Random(options.seed() + 100));
        LoraModel<SmallCnn> lora = null;
        String variant;
        switch (options.mode()) {
            case HEAD_ONLY -> {
                adapted.freeze();
                adapted.head().unfreeze();
                variant = "head";
            }
            case FULL -> variant = "full";
            case LORA -> {
                lora = Lora.wrap(adapted, LoraConfig.builder().rank(options.rank()).alpha(options.alpha())
                        .targetModules(options.targets().toArray(String[]::new)).modulesToSave("head")
                        .seed(options.seed()).build());
                variant = "lora" + options.rank();
            }
            default -> throw new IllegalStateException();
        }
        String description = switch (options.mode()) {
            case HEAD_ONLY -> "frozen backbone + new head";
            case FULL -> "full fine-tuning (all weights, new head)";
            case LORA -> options.describe();
        };
        out.println(description + " on " + data.trainB().count() + " images of classes 5-9 ("
                + String.join(", ", FashionData.CLASSES.subList(5, 10)) + ")");
        if (lora != null) {
            out.println(lora.summary().line());
        }
        long trainable = adapted.trainableParameterCount();
        long total = adapted.parameterCount();
        LossHistory history = new LossHistory();
        TrainingResult result = Lora4j.trainer(trainingConfig(options.epochs(), options.maxSteps(),
                        options.learningRate(), options.seed() + 1), progress, history)
                .fit(adapted, FashionData.batches(data.trainB(), options.batchSize()),
                        FashionData.batches(data.validationB(), 500), task(adapted));
        FashionData.Batch probe = FashionData.batch(data.testB(), 0, data.testB().count());
        INDArray unmerged = logits(adapted, probe);
        double testAccuracy = Predictions.accuracy(unmerged, probe.labels());
        out.printf(Locale.ROOT, "test accuracy on classes 5-9: %.2f%%%n", 100 * testAccuracy);
        Path adapterDir = null;
        double mergeDiff = Double.NaN;
        double checkpointDiff = Double.NaN;
        double mergedAccuracy = Double.NaN;
        double agreement = Double.NaN;
        Path dir = options.outputDir();
        if (lora != null) {
            if (dir != null) {
                adapterDir = dir.resolve("adapter-" + variant);
                Lora.save(lora, adapterDir);
                Path merged = dir.resolve("merged-" + variant + ".safetensors");
                CheckpointMerger.merge(checkpoint, adapterDir, merged);
                SmallCnn fromFile = new SmallCnn(5);
                ModelCheckpoint.load(fromFile, merged);
                checkpointDiff = maxAbsDiff(unmerged, logits(fromFile, probe));
            }
            lora.safeMerge();
            INDArray mergedLogits = logits(adapted, probe);
            mergeDiff = maxAbsDiff(unmerged, mergedLogits);
            mergedAccuracy = Predictions.accuracy(mergedLogits, probe.labels());
            agreement = Predictions.agreement(unmerged, mergedLogits);
            out.printf(Locale.ROOT, "adapter saved in PEFT's layout: %s; merged vs unmerged max |logit diff| %.2e;"
                    + " model-free merged checkpoint vs adapted max |logit diff| %.2e%n", adapterDir, mergeDiff,
                    checkpointDiff);
        }
        Path curve = null;
        if (dir != null) {
            curve = TrainingCurve.write(history, "Fashion-MNIST 5-9: " + description, dir.resolve("curve-" + variant + ".png"));
            out.println("curves: " + curve);
        }
        return new Outcome(variant, description, trainable, total, testAccuracy, result.wallTime().toNanos() / 1e9,
                result.steps(), adapterDir, mergeDiff, checkpointDiff, mergedAccuracy, agreement, result, curve);
    }

    private static TrainingTask<FashionData.Batch> task(SmallCnn model) {
        CrossEntropyLoss crossEntropy = new CrossEntropyLoss();
        Predictor<FashionData.Batch> predictor = b -> new Predictor.Prediction(
                model.forward(Tensor.constant(b.images())).value(), b.labels());
        return TrainingTask.<FashionData.Batch>of(
                        b -> crossEntropy.compute(model.forward(Tensor.constant(b.images())), b.labels()),
                        FashionData.Batch::size)
                .withPredictor(predictor);
    }

    private static TrainingConfig trainingConfig(int epochs, long steps, double learningRate, long seed) {
        return TrainingConfig.builder()
                .epochs(epochs).maxSteps(steps).learningRate(learningRate).warmupSteps(Math.max(1, steps / 20))
                .maxGradNorm(1.0).evalEverySteps(Math.max(10, steps / 5))
                .monitor(TrainingConfig.VAL_ACCURACY, MetricGoal.MAXIMIZE).restoreBestWeights(true)
                .seed(seed).build();
    }

    /** The fraction of {@code images} the model classifies correctly (evaluation mode). */
    public static double accuracy(SmallCnn model, FashionData.Images images) {
        long correct = 0;
        for (FashionData.Batch b : FashionData.batches(images, 500)) {
            INDArray predicted = logits(model, b).argMax(1);
            for (int i = 0; i < b.size(); i++) {
                if (predicted.getInt(i) == b.labels()[i]) {
                    correct++;
                }
            }
        }
        return (double) correct / images.count();
    }

    private static Map<String, String> readMetadata(Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.metadata();
        }
    }

    private static INDArray logits(SmallCnn model, FashionData.Batch batch) {
        model.eval();
        try (GradMode.Scope ignored = GradMode.disable()) {
            return model.forward(Tensor.constant(batch.images())).value().dup();
        }
    }

    private static double maxAbsDiff(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue();
    }

    private static Map<String, long[]> shapes(Path file) {
        Map<String, long[]> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (TensorInfo t : f.tensors()) {
                out.put(t.name(), t.shape());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static void print(Results r, Settings settings, double seconds) {
        System.out.println();
        System.out.printf(Locale.ROOT, "pretrained on classes 0-4: test accuracy %.2f%% (%d steps, %.0f s)%n",
                100 * r.pretrainTestAccuracy(), settings.pretrainSteps(), r.pretrainSeconds());
        System.out.println();
        System.out.println("| adaptation to classes 5-9 | trainable params | test accuracy | train time | merged vs unmerged |");
        System.out.println("|---|---|---|---|---|");
        for (Outcome o : r.outcomes()) {
            System.out.printf(Locale.ROOT, "| %s | %,d of %,d (%.1f%%) | %.2f%% | %.0f s (%d steps) | %s |%n", o.description(),
                    o.trainable(), o.total(), 100.0 * o.trainable() / o.total(), 100 * o.testAccuracy(), o.trainSeconds(),
                    o.steps(), Double.isNaN(o.mergeMaxAbsDiff()) ? "—" : String.format(Locale.ROOT, "%.1e", o.mergeMaxAbsDiff()));
        }
        System.out.println();
        System.out.println("saved adapter tensors (PEFT names and shapes):");
        r.savedShapes().forEach((name, shape) -> System.out.println("  " + name + " " + Arrays.toString(shape)));
        System.out.printf(Locale.ROOT, "total wall time %.0f s; outputs in %s%n", seconds, settings.out().toAbsolutePath());
    }
}
