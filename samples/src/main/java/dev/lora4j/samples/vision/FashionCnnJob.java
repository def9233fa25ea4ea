package dev.lora4j.samples.vision;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.io.ModelCheckpoint;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.nn.Init;
import dev.lora4j.pipeline.FineTuneContext;
import dev.lora4j.pipeline.FineTuneData;
import dev.lora4j.pipeline.FineTuneJob;
import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.train.ConsoleProgress;
import dev.lora4j.train.Inference;
import dev.lora4j.train.MetricGoal;
import dev.lora4j.train.TrainingConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The vision job, {@code fashion-cnn}: a {@link SmallCnn} pretrained on Fashion-MNIST classes 0–4
 * (all weights trained, the checkpoint cached by recipe and reused) gets a new five-way head and is
 * adapted to classes 5–9 as the options say: LoRA on the convolutions (default r = 4, alpha = 8 on
 * conv1–3) plus the head, the head alone, or every weight (batch norm with batch statistics). As
 * the weights come from a checkpoint, the runner also merges the saved adapter into that file
 * without a model and checks a network loaded from the result. Frozen batch norm layers keep their
 * pretraining statistics (see {@link dev.lora4j.nn.BatchNorm2d}).
 *
 * <p>{@code lora4j finetune --model fashion-cnn}; {@link VisionFineTune} compares the variants.
 */
public final class FashionCnnJob implements FineTuneJob<SmallCnn, FashionData.Batch> {

    /** The job's name. */
    public static final String NAME = "fashion-cnn";
    /** Parameter: pretraining steps on classes 0–4. */
    public static final String PRETRAIN_STEPS = "pretrain-steps";
    /** Parameter: where pretrained checkpoints are kept, one file per recipe. */
    public static final String PRETRAINED_DIR = "pretrained-dir";

    private static final int DEFAULT_PRETRAIN_STEPS = 500;
    private static final Path DEFAULT_PRETRAINED_DIR = Path.of("target", "fashion-cnn-pretrained");
    /**
     * Images per validation and test batch: each is evaluated whole, in one worker's step memory,
     * so the batch sets that memory's size (whole 500- and 1 000-image batches made it grow past
     * 1 GB).
     */
    private static final int EVAL_BATCH = 100;

    private @Nullable FashionTasks tasks;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "a small CNN pretrained on Fashion-MNIST classes 0-4, adapted to classes 5-9";
    }

    /**
     * 300 steps of 64 images (at most 10 epochs), AdamW at 1e-2 for LoRA and the head, 3e-3 for
     * full fine-tuning, LoRA r = 4, alpha = 8 on conv1, conv2 and conv3, one thread, seed 7, output
     * in {@code target/fashion-cnn}.
     */
    @Override
    public FineTuneOptions defaults(FineTuneMode mode) {
        return new FineTuneOptions(mode, 4, 8, List.of("conv1", "conv2", "conv3"), false, 10, 300, 64,
                mode == FineTuneMode.FULL ? 3e-3 : 1e-2, 1, 0, 7, Path.of("target", NAME), Map.of());
    }

    @Override
    public Map<String, String> parameters() {
        return Map.of(PRETRAIN_STEPS, "pretraining steps on classes 0-4 (default " + DEFAULT_PRETRAIN_STEPS + ")",
                PRETRAINED_DIR, "where pretrained checkpoints are kept and reused, one per recipe (default "
                        + DEFAULT_PRETRAINED_DIR + ")");
    }

    @Override
    public void check(FineTuneOptions options) {
        int steps = pretrainSteps(options);
        if (steps < 1) {
            throw new IllegalArgumentException("parameter " + PRETRAIN_STEPS + " must be at least 1, got " + steps);
        }
    }

    /** The pretrained network (trained now, or read from the cached checkpoint) with a new head. */
    @Override
    public SmallCnn model(FineTuneContext context) throws IOException {
        SmallCnn model = new SmallCnn(5);
        ModelCheckpoint.load(model, pretrained(context));
        model.replaceHead(5, new Random(context.options().seed() + 100));
        return model;
    }

    @Override
    public List<String> head() {
        return List.of("head");
    }

    @Override
    public FineTuneData<FashionData.Batch> data(FineTuneOptions options) {
        FashionTasks t = tasks();
        return new FineTuneData<>(FashionData.batches(t.trainB(), options.batchSize()),
                FashionData.batches(t.validationB(), EVAL_BATCH), FashionData.batches(t.testB(), EVAL_BATCH));
    }

    @Override
    public Tensor logits(SmallCnn model, FashionData.Batch batch) {
        return model.forward(Tensor.constant(batch.images()));
    }

    @Override
    public int[] labels(FashionData.Batch batch) {
        return batch.labels();
    }

    @Override
    public int size(FashionData.Batch batch) {
        return batch.size();
    }

    /** Linear warm-up over 5 % of the steps, clipping at 1, validation accuracy 5 times, the best weights kept. */
    @Override
    public TrainingConfig training(FineTuneOptions options, int trainBatches) {
        long steps = Math.min(options.maxSteps(), (long) options.epochs() * trainBatches);
        return config(options.epochs(), steps, options.learningRate(), options.seed() + 1);
    }

    @Override
    public Path checkpoint(FineTuneContext context) {
        return checkpointFile(context.options());
    }

    /**
     * The checkpoint of the options' pretraining recipe: reused when the file exists (its metadata
     * records the recipe), else trained with the context's trainer on classes 0–4 and saved.
     */
    private Path pretrained(FineTuneContext context) throws IOException {
        FineTuneOptions options = context.options();
        PrintStream out = context.out();
        Path checkpoint = checkpointFile(options);
        Map<String, String> recipe = recipe(options);
        FashionTasks data = tasks();
        if (Files.isRegularFile(checkpoint) && metadata(checkpoint).entrySet().containsAll(recipe.entrySet())) {
            SmallCnn model = new SmallCnn(5);
            ModelCheckpoint.load(model, checkpoint);
            double accuracy = accuracy(model, data.testA());
            out.printf(Locale.ROOT, "== pretrained checkpoint reused: %s (test accuracy on classes 0-4 %.2f%%)%n",
                    checkpoint, 100 * accuracy);
            context.detail("pretrained on classes 0-4", String.format(Locale.ROOT, "test accuracy %.4f (reused)", accuracy));
            context.detail("pretrained checkpoint", checkpoint.toString());
            return checkpoint;
        }
        int steps = pretrainSteps(options);
        out.println("== pretraining on " + data.trainA().count() + " images of classes 0-4 ("
                + String.join(", ", FashionData.CLASSES.subList(0, 5)) + "), all weights train, " + steps + " steps");
        Init.seed(options.seed());
        SmallCnn model = new SmallCnn(5);
        context.trainer().withConfig(config(10_000, steps, 3e-3, options.seed()))
                .withListeners(List.of(new ConsoleProgress(ConsoleProgress.Mode.LINES,
                        ConsoleProgress.DEFAULT_LINE_INTERVAL, out)))
                .fit(model, FashionData.batches(data.trainA(), options.batchSize()),
                        FashionData.batches(data.validationA(), EVAL_BATCH), task(model));
        double accuracy = accuracy(model, data.testA());
        Files.createDirectories(checkpoint.getParent());
        ModelCheckpoint.save(model, checkpoint, recipe);
        out.printf(Locale.ROOT, "test accuracy on classes 0-4: %.2f%%; checkpoint %s%n", 100 * accuracy, checkpoint);
        context.detail("pretrained on classes 0-4", String.format(Locale.ROOT, "test accuracy %.4f", accuracy));
        context.detail("pretrained checkpoint", checkpoint.toString());
        return checkpoint;
    }

    /** The pretrained checkpoint's file for the options' recipe. */
    static Path checkpointFile(FineTuneOptions options) {
        String dir = options.parameters().get(PRETRAINED_DIR);
        return (dir != null ? Path.of(dir) : DEFAULT_PRETRAINED_DIR).resolve(String.format(Locale.ROOT,
                "classes-0-4-steps%d-batch%d-seed%d.safetensors", pretrainSteps(options), options.batchSize(),
                options.seed()));
    }

    private static Map<String, String> recipe(FineTuneOptions options) {
        return Map.of("classes", "0-4", "steps", Integer.toString(pretrainSteps(options)), "batch",
                Integer.toString(options.batchSize()), "seed", Long.toString(options.seed()));
    }

    private static int pretrainSteps(FineTuneOptions options) {
        return options.intParameter(PRETRAIN_STEPS, DEFAULT_PRETRAIN_STEPS);
    }

    private static TrainingConfig config(int epochs, long steps, double learningRate, long seed) {
        return TrainingConfig.builder()
                .epochs(epochs).maxSteps(steps).learningRate(learningRate).warmupSteps(Math.max(1, steps / 20))
                .maxGradNorm(1.0).evalEverySteps(Math.max(10, steps / 5))
                .monitor(TrainingConfig.VAL_ACCURACY, MetricGoal.MAXIMIZE).restoreBestWeights(true)
                .seed(seed).build();
    }

    /**
     * The fraction of {@code images} the model classifies correctly: evaluation mode, batches of
     * {@value #EVAL_BATCH} spread over the cores ({@link Inference}).
     */
    private double accuracy(SmallCnn model, FashionData.Images images) {
        List<FashionData.Batch> batches = FashionData.batches(images, EVAL_BATCH);
        List<INDArray> logits = Inference.outputs(model, batches, b -> logits(model, b), TrainingConfig.AUTO_WORKERS);
        long correct = 0;
        for (int k = 0; k < batches.size(); k++) {
            int[] predicted = logits.get(k).argMax(1).toIntVector();
            int[] labels = batches.get(k).labels();
            for (int i = 0; i < labels.length; i++) {
                correct += predicted[i] == labels[i] ? 1 : 0;
            }
        }
        return (double) correct / images.count();
    }

    private static Map<String, String> metadata(Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.metadata();
        }
    }

    private FashionTasks tasks() {
        if (tasks == null) {
            tasks = FashionTasks.load();
        }
        return tasks;
    }
}
