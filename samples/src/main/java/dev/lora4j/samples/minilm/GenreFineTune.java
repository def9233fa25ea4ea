package dev.lora4j.samples.minilm;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.io.AdapterSaveOptions;
import dev.lora4j.pipeline.FineTuneContext;
import dev.lora4j.pipeline.FineTuneData;
import dev.lora4j.pipeline.FineTuneJob;
import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.train.BatchSlicer;
import dev.lora4j.train.MetricGoal;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingResult;
import dev.lora4j.train.TrainingTask;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The main job, {@code minilm-genres}: LoRA fine-tuning of the pretrained all-MiniLM-L6-v2 encoder
 * on the Brown Corpus sentence-genre task (six classes). By default the adapters come from the
 * {@code @LoRA(rank = 8, alpha = 16)} fields of {@link MiniLm} ({@code attention.self.query} and
 * {@code value} of every layer), put on by the lora4j agent as the encoder is constructed; the new
 * {@code classifier} head trains in full (PEFT's {@code modules_to_save}). Other ranks or targets
 * go through a {@code LoraConfig}; the same job trains the head alone or every weight, for the
 * comparison in RESULTS.md. On Apache Spark with {@code --spark <master>}.
 *
 * <p>This class only says what is particular to the job; {@link dev.lora4j.pipeline.FineTuneRunner}
 * runs it: {@code lora4j finetune --model minilm-genres}, {@code LoraDsl.finetune("minilm-genres")
 * { ... }}, or {@link #main}.
 */
public final class GenreFineTune implements FineTuneJob<MiniLmClassifier, GenreData.Batch> {

    /** The job's name. */
    public static final String NAME = "minilm-genres";
    /** The Hugging Face model the weights come from, written into adapter_config.json. */
    public static final String BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2";
    /** Parameter: tokens per sentence at most, [CLS] and [SEP] included. */
    public static final String MAX_LENGTH = "max-length";
    /** Parameter: validations without improvement before stopping. */
    public static final String PATIENCE = "patience";
    /** Parameter: training sentences per class (0: all). */
    public static final String TRAIN_PER_CLASS = "train-per-class";
    /** Parameter: validation and test sentences per class (0: all). */
    public static final String EVAL_PER_CLASS = "eval-per-class";

    /**
     * The job's own settings, read from the options' {@linkplain FineTuneOptions#parameters()
     * parameters} with their defaults.
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
                throw new IllegalArgumentException("invalid parameters: " + MAX_LENGTH + " " + maxLength
                        + " (at least 2), " + PATIENCE + " " + patience + ", " + TRAIN_PER_CLASS + " " + trainPerClass
                        + ", " + EVAL_PER_CLASS + " " + evalPerClass + " (at least 0)");
            }
        }

        /**
         * The parameters {@code options} give, {@link #DEFAULTS} for those they leave out.
         *
         * @throws IllegalArgumentException for a parameter that is not an integer, or an invalid value
         */
        public static Parameters of(FineTuneOptions options) {
            return new Parameters(options.intParameter(MAX_LENGTH, DEFAULTS.maxLength()),
                    options.intParameter(PATIENCE, DEFAULTS.patience()),
                    options.intParameter(TRAIN_PER_CLASS, DEFAULTS.trainPerClass()),
                    options.intParameter(EVAL_PER_CLASS, DEFAULTS.evalPerClass()));
        }

        /** As {@link FineTuneOptions#parameters()} entries. */
        public Map<String, String> asMap() {
            return Map.of(MAX_LENGTH, Integer.toString(maxLength), PATIENCE, Integer.toString(patience),
                    TRAIN_PER_CLASS, Integer.toString(trainPerClass), EVAL_PER_CLASS, Integer.toString(evalPerClass));
        }
    }

    /**
     * Runs the job from the command line: {@code lora4j finetune --model minilm-genres} with {@code
     * args} as further options ({@code --help} lists them).
     */
    public static void main(String[] args) {
        String[] command = new String[args.length + 3];
        command[0] = "finetune";
        command[1] = "--model";
        command[2] = NAME;
        System.arraycopy(args, 0, command, 3, args.length);
        dev.lora4j.cli.Main.main(command); // exits: ND4J and DJL leave non-daemon threads behind
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "all-MiniLM-L6-v2 (6-layer BERT, 22.6 M parameters) on Brown Corpus sentence genres (6 classes)";
    }

    /**
     * LoRA r = 8, alpha = 16 on query and value through the agent, 3 epochs of batches of 32
     * sentences cut at 64 tokens, AdamW at 1e-3 for LoRA (with the head), 3e-3 for the head alone,
     * 5e-5 for full fine-tuning (BERT's usual range; higher rates wreck the pretrained weights),
     * output in {@code target/genre-finetune}, every {@link Parameters#DEFAULTS parameter} written
     * out. About 225 steps; a few minutes on two cores.
     */
    @Override
    public FineTuneOptions defaults(FineTuneMode mode) {
        double learningRate = switch (mode) {
            case LORA, DORA -> 1e-3;
            case HEAD_ONLY -> 3e-3;
            case FULL -> 5e-5;
        };
        return new FineTuneOptions(mode, 8, 16, List.of("query", "value"), true, 3, Long.MAX_VALUE, 32, learningRate,
                1, TrainingConfig.AUTO_WORKERS, 42, Path.of("target", "genre-finetune"), Parameters.DEFAULTS.asMap());
    }

    @Override
    public Map<String, String> parameters() {
        Map<String, String> known = new LinkedHashMap<>();
        known.put(MAX_LENGTH, "tokens per sentence at most, [CLS] and [SEP] included (default 64)");
        known.put(PATIENCE, "validations without improvement of the accuracy before stopping (default 4)");
        known.put(TRAIN_PER_CLASS, "training sentences per class, 0 for all 400 (default 0)");
        known.put(EVAL_PER_CLASS, "validation and test sentences per class, 0 for all (default 0)");
        known.put(FineTuneOptions.SPARK, "train on Apache Spark with this master, e.g. local[2] (also --spark)");
        return known;
    }

    @Override
    public void check(FineTuneOptions options) {
        Parameters.of(options);
    }

    @Override
    public MiniLmClassifier model(FineTuneContext context) {
        return classifier(MiniLm.pretrained(), context.options());
    }

    /** The classifier over {@code encoder}, its new head drawn with the options' seed. */
    static MiniLmClassifier classifier(MiniLm encoder, FineTuneOptions options) {
        return new MiniLmClassifier(encoder, GenreData.LABELS.size(), new Random(options.seed()));
    }

    @Override
    public List<String> head() {
        return List.of(MiniLmClassifier.HEAD);
    }

    /**
     * The splits bucketed by length and shuffled with the options' seed. Test batches come in
     * halves: a worker's memory then holds the forward pass of half a batch, as a training step on
     * two workers does (halves on any machine, so that the logits do not depend on its cores).
     */
    @Override
    public FineTuneData<GenreData.Batch> data(FineTuneOptions options) {
        try (MiniLmTokenizer tokenizer = MiniLmTokenizer.create(Parameters.of(options).maxLength())) {
            return new FineTuneData<>(batches(options, GenreData.Split.TRAIN, tokenizer),
                    batches(options, GenreData.Split.VALIDATION, tokenizer),
                    halves(batches(options, GenreData.Split.TEST, tokenizer)));
        }
    }

    @Override
    public Tensor logits(MiniLmClassifier model, GenreData.Batch batch) {
        return model.forward(batch.inputIds(), batch.attentionMask());
    }

    @Override
    public int[] labels(GenreData.Batch batch) {
        return batch.labels();
    }

    @Override
    public int size(GenreData.Batch batch) {
        return batch.size();
    }

    @Override
    public BatchSlicer<GenreData.Batch> slicer() {
        return GenreData.Batch::slice;
    }

    /**
     * AdamW with linear warm-up over 10 % of the steps, clipping at 1, validation every half epoch,
     * early stopping on the validation accuracy and the best weights restored.
     */
    @Override
    public TrainingConfig training(FineTuneOptions options, int trainBatches) {
        long planned = Math.min(options.maxSteps(), (long) options.epochs() * trainBatches);
        return TrainingConfig.builder()
                .epochs(options.epochs()).maxSteps(options.maxSteps()).learningRate(options.learningRate())
                .warmupSteps(Math.max(1, planned / 10)).maxGradNorm(1.0)
                .evalEverySteps(Math.max(1, trainBatches / 2)).evalEveryEpoch(false)
                .monitor(TrainingConfig.VAL_ACCURACY, MetricGoal.MAXIMIZE)
                .earlyStopping(Math.max(1, Parameters.of(options).patience()), 0.0).restoreBestWeights(true)
                .seed(options.seed()).workers(options.workers()).build();
    }

    /** On Spark when the options name a master ({@link GenreSpark}); otherwise with {@code trainer}. */
    @Override
    public TrainingResult train(FineTuneContext context, MiniLmClassifier model, FineTuneData<GenreData.Batch> data,
            TrainingTask<GenreData.Batch> task, Trainer trainer) {
        String master = context.options().spark();
        return master == null ? trainer.fit(model, data.train(), data.validation(), task)
                : GenreSpark.train(this, context.options(), master, data, model, trainer, context.out());
    }

    @Override
    public AdapterSaveOptions saveOptions() {
        return AdapterSaveOptions.defaults().withBaseModelNameOrPath(BASE_MODEL);
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

    /** Each batch cut into two halves, in order. */
    static List<GenreData.Batch> halves(List<GenreData.Batch> batches) {
        List<GenreData.Batch> pieces = new ArrayList<>();
        for (GenreData.Batch b : batches) {
            int half = b.size() / 2;
            if (half > 0) {
                pieces.add(b.slice(0, half));
            }
            pieces.add(b.slice(half, b.size()));
        }
        return pieces;
    }
}
