package dev.lora4j.samples.minilm;

import dev.lora4j.api.TrainingListener;
import dev.lora4j.pipeline.FineTuneJob;
import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.pipeline.FineTuneReport;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The main job as a {@link FineTuneJob}: {@code lora4j finetune --model minilm-genres}, or {@code
 * LoraDsl.finetune("minilm-genres") { ... }}. It runs {@link GenreFineTune#run} with the options,
 * its own settings being {@link GenreFineTune.Parameters}.
 */
public final class GenresJob implements FineTuneJob {

    /** The job's name. */
    public static final String NAME = "minilm-genres";
    /** Parameter: tokens per sentence at most, [CLS] and [SEP] included. */
    public static final String MAX_LENGTH = "max-length";
    /** Parameter: validations without improvement before stopping. */
    public static final String PATIENCE = "patience";
    /** Parameter: training sentences per class (0: all). */
    public static final String TRAIN_PER_CLASS = "train-per-class";
    /** Parameter: validation and test sentences per class (0: all). */
    public static final String EVAL_PER_CLASS = "eval-per-class";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "all-MiniLM-L6-v2 (6-layer BERT, 22.6 M parameters) on Brown Corpus sentence genres (6 classes)";
    }

    @Override
    public FineTuneOptions defaults(FineTuneMode mode) {
        return GenreFineTune.defaults(mode);
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
    public FineTuneReport run(FineTuneOptions options, TrainingListener progress, PrintStream out) {
        GenreFineTune.Parameters.of(options); // a bad parameter fails before anything loads
        return GenreFineTune.run(options, options.spark(), progress, out).toReport();
    }
}
