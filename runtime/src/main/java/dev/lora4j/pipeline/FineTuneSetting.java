package dev.lora4j.pipeline;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;

/**
 * One setting of a fine-tune that may change a job's defaults: its name, how the command line
 * spells it, and where it goes in {@link FineTuneOptions}. {@link #ALL} is the one list of them:
 * the {@code finetune} command makes its options from it, and the DSL's {@code FineTuneSpec} keeps
 * what a block sets under these keys, so a new setting is one entry here (plus, for Kotlin's
 * property syntax, a getter and setter pair on the spec that read and write that entry).
 *
 * @param <T> the value's type
 */
public final class FineTuneSetting<T> {

    /** The adapters' rank. */
    public static final FineTuneSetting<Integer> RANK = new FineTuneSetting<>("rank", Integer.class, false,
            "--rank", "<r>", "adapter rank", null, FineTuneOptions.Builder::rank);
    /** The adapters' alpha. */
    public static final FineTuneSetting<Double> ALPHA = new FineTuneSetting<>("alpha", Double.class, false,
            "--alpha", "<alpha>", "adapter alpha (scaling alpha/r)", null, FineTuneOptions.Builder::alpha);
    /** The modules to adapt. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static final FineTuneSetting<List<String>> TARGETS = new FineTuneSetting<>("targets", (Class) List.class,
            true, "--targets", "<module>", "modules to adapt, comma-separated, or all-linear", null, FineTuneOptions.Builder::targets);
    /** Whether the agent puts the adapters on (false: a LoraConfig does). */
    public static final FineTuneSetting<Boolean> AGENT = new FineTuneSetting<>("agent", Boolean.class, false,
            "--no-agent", null, "put adapters on with a LoraConfig instead of the agent", Boolean.FALSE,
            FineTuneOptions.Builder::agent);
    /** Passes over the training data at most. */
    public static final FineTuneSetting<Integer> EPOCHS = new FineTuneSetting<>("epochs", Integer.class, false,
            "--epochs", "<n>", "passes over the training data at most", null, FineTuneOptions.Builder::epochs);
    /** Optimizer steps at most. */
    public static final FineTuneSetting<Long> MAX_STEPS = new FineTuneSetting<>("maxSteps", Long.class, false,
            "--max-steps", "<n>", "optimizer steps at most", null, FineTuneOptions.Builder::maxSteps);
    /** Examples per step. */
    public static final FineTuneSetting<Integer> BATCH_SIZE = new FineTuneSetting<>("batchSize", Integer.class, false,
            "--batch", "<n>", "examples per step", null, FineTuneOptions.Builder::batchSize);
    /** AdamW's peak learning rate. */
    public static final FineTuneSetting<Double> LEARNING_RATE = new FineTuneSetting<>("learningRate", Double.class,
            false, "--lr", "<rate>", "AdamW's peak learning rate", null, FineTuneOptions.Builder::learningRate);
    /** ND4J/BLAS threads of a one-worker run. */
    public static final FineTuneSetting<Integer> THREADS = new FineTuneSetting<>("threads", Integer.class, false,
            "--threads", "<n>", "ND4J/BLAS threads when training on one worker", null, FineTuneOptions.Builder::threads);
    /** Data-parallel workers (0: one per core). */
    public static final FineTuneSetting<Integer> WORKERS = new FineTuneSetting<>("workers", Integer.class, false,
            "--workers", "<n>", "data-parallel training workers, one native thread each (default: one per core)", null,
            FineTuneOptions.Builder::workers);
    /** Seeds initialisation, dropout and the batch order. */
    public static final FineTuneSetting<Long> SEED = new FineTuneSetting<>("seed", Long.class, false,
            "--seed", "<n>", "random seed", null, FineTuneOptions.Builder::seed);
    /** Where the adapter, the curve and the other files go. */
    public static final FineTuneSetting<Path> OUTPUT_DIR = new FineTuneSetting<>("outputDir", Path.class, false,
            "--output", "<dir>", "where the adapter, curve.png and CSVs go", null, FineTuneOptions.Builder::outputDir);

    /** Every setting, in the order the command's help lists them. */
    public static final List<FineTuneSetting<?>> ALL = List.of(RANK, ALPHA, TARGETS, AGENT, EPOCHS, MAX_STEPS,
            BATCH_SIZE, LEARNING_RATE, THREADS, WORKERS, SEED, OUTPUT_DIR);

    private final String name;
    private final Class<T> type;
    private final boolean commaSeparated;
    private final String option;
    private final @Nullable String paramLabel;
    private final String description;
    private final @Nullable T flagValue;
    private final BiConsumer<FineTuneOptions.Builder, T> apply;

    private FineTuneSetting(String name, Class<T> type, boolean commaSeparated, String option,
            @Nullable String paramLabel, String description, @Nullable T flagValue,
            BiConsumer<FineTuneOptions.Builder, T> apply) {
        this.name = name;
        this.type = type;
        this.commaSeparated = commaSeparated;
        this.option = option;
        this.paramLabel = paramLabel;
        this.description = description;
        this.flagValue = flagValue;
        this.apply = apply;
    }

    /** The setting's name, as the DSL's property and {@link FineTuneOptions}'s component call it. */
    public String name() {
        return name;
    }

    /** The value's type ({@code List} for a list of strings). */
    public Class<T> type() {
        return type;
    }

    /** Whether the command line gives a list as one comma-separated argument. */
    public boolean commaSeparated() {
        return commaSeparated;
    }

    /** The command-line option, e.g. {@code --lr}. */
    public String option() {
        return option;
    }

    /** The option's parameter label, e.g. {@code <rate>}; {@code null} for a flag. */
    public @Nullable String paramLabel() {
        return paramLabel;
    }

    /** One line of help. */
    public String description() {
        return description;
    }

    /** For a flag (an option without a value), the value it stands for; otherwise {@code null}. */
    public @Nullable T flagValue() {
        return flagValue;
    }

    /**
     * Puts {@code value} into {@code builder}.
     *
     * @throws ClassCastException when {@code value} is not of the setting's type
     */
    public void applyTo(FineTuneOptions.Builder builder, Object value) {
        apply.accept(builder, type.cast(Objects.requireNonNull(value, name)));
    }

    /**
     * The setting called {@code name} ({@link #name()}, e.g. {@code learningRate}), if there is one.
     */
    public static java.util.Optional<FineTuneSetting<?>> named(String name) {
        return ALL.stream().filter(setting -> setting.name.equals(name)).findFirst();
    }

    /**
     * The value {@code text} stands for: a number, a path, {@code true}/{@code false}, or a
     * comma-separated list.
     *
     * @throws IllegalArgumentException naming the setting when {@code text} is not such a value
     */
    @SuppressWarnings("unchecked")
    public T parse(String text) {
        String t = text.strip();
        try {
            Object value;
            if (type == Integer.class) {
                value = Integer.valueOf(t);
            } else if (type == Long.class) {
                value = Long.valueOf(t);
            } else if (type == Double.class) {
                value = Double.valueOf(t);
            } else if (type == Path.class) {
                value = Path.of(t);
            } else if (type == Boolean.class) {
                if (!t.equals("true") && !t.equals("false")) {
                    throw new IllegalArgumentException("not true or false");
                }
                value = Boolean.valueOf(t);
            } else if (type == List.class) {
                value = java.util.Arrays.stream(t.split(",")).map(String::strip).filter(x -> !x.isEmpty()).toList();
            } else {
                throw new IllegalStateException("no parser for " + type);
            }
            return (T) value;
        } catch (IllegalArgumentException e) {
            String expected = type == List.class ? "a comma-separated list" : type == Boolean.class ? "true or false"
                    : type == Double.class ? "a number" : type == Path.class ? "a path" : "an integer";
            throw new IllegalArgumentException(name + " must be " + expected + ", got '" + text + "'", e);
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
