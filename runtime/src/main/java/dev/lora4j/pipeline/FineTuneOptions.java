package dev.lora4j.pipeline;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The settings every {@link FineTuneJob} understands. A job supplies its defaults ({@link
 * FineTuneJob#defaults}); the {@code finetune} command and the DSL change only what the user sets.
 *
 * @param mode what trains
 * @param rank the adapters' rank (LoRA and DoRA)
 * @param alpha the adapters' alpha; the scaling is alpha / rank (LoRA and DoRA)
 * @param targets names of the modules to adapt, e.g. {@code query, value}, or just {@code all-linear}
 *     for every Linear layer but the output layer and the head (PEFT's shorthand) (LoRA and DoRA)
 * @param agent put the adapters on through the lora4j agent and the model's {@code @LoRA} fields
 *     where the job's model has them and the settings equal the annotations; otherwise through a
 *     {@code LoraConfig}
 * @param epochs passes over the training data at most
 * @param maxSteps optimizer steps at most ({@code Long.MAX_VALUE}: no limit besides the epochs)
 * @param batchSize examples per step
 * @param learningRate AdamW's peak learning rate
 * @param threads ND4J/BLAS threads when training on one worker
 * @param workers data-parallel training workers ({@link dev.lora4j.train.TrainingConfig.Builder#workers});
 *     0 for one per core
 * @param seed seeds initialisation, dropout and the batch order
 * @param outputDir where the adapter, the curve and the other files go; {@code null} writes nothing
 * @param parameters job-specific settings by name (each job lists the ones it knows in {@link
 *     FineTuneJob#parameters()}, and rejects others)
 */
public record FineTuneOptions(FineTuneMode mode, int rank, double alpha, List<String> targets, boolean agent,
        int epochs, long maxSteps, int batchSize, double learningRate, int threads, int workers, long seed,
        @Nullable Path outputDir, Map<String, String> parameters) implements java.io.Serializable {

    /**
     * The parameter that trains on Apache Spark: its value is the master URL, e.g. {@code local[2]}
     * ({@code finetune --spark}); jobs that can train on Spark list it in {@link
     * FineTuneJob#parameters()}, the others refuse it.
     */
    public static final String SPARK = "spark";

    /**
     * Checks every value.
     *
     * @throws IllegalArgumentException naming the first invalid setting and its value
     */
    public FineTuneOptions {
        Objects.requireNonNull(mode, "mode");
        targets = List.copyOf(targets);
        parameters = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
        require(rank >= 1, "rank", rank, "at least 1");
        require(alpha > 0 && Double.isFinite(alpha), "alpha", alpha, "positive");
        require(epochs >= 1, "epochs", epochs, "at least 1");
        require(maxSteps >= 1, "max steps", maxSteps, "at least 1");
        require(batchSize >= 1, "batch size", batchSize, "at least 1");
        require(learningRate > 0 && Double.isFinite(learningRate), "learning rate", learningRate, "positive");
        require(threads >= 1, "threads", threads, "at least 1");
        require(workers >= 0, "workers", workers, "at least 1, or 0 for one per core");
        for (String target : targets) {
            require(target != null && !target.isBlank(), "targets", targets, "non-blank module names");
        }
        require(!mode.trainsAdapters() || !targets.isEmpty(), "targets", targets, "at least one module for adapters");
    }

    private static void require(boolean ok, String name, Object value, String expected) {
        if (!ok) {
            throw new IllegalArgumentException(name + " must be " + expected + ", got " + value);
        }
    }

    /** A one-line description of what trains, e.g. {@code LoRA r=8 alpha=16 on query/value + head}. */
    public String describe() {
        return switch (mode) {
            case HEAD_ONLY -> "frozen network + trained head";
            case FULL -> "full fine-tuning (all weights)";
            case LORA, DORA -> String.format(Locale.ROOT, "%s r=%d alpha=%s on %s + head",
                    mode == FineTuneMode.DORA ? "DoRA" : "LoRA", rank, number(alpha),
                    String.join("/", targets));
        };
    }

    /** The Spark master to train on ({@link #SPARK}), or {@code null} to train in this JVM. */
    public @Nullable String spark() {
        return parameters.get(SPARK);
    }

    /** The job-specific parameter {@code name} as an int, or {@code fallback} when not set. */
    public int intParameter(String name, int fallback) {
        String value = parameters.get(name);
        if (value == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("parameter " + name + " must be an integer, got '" + value + "'", e);
        }
    }

    /** A builder holding these options. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    private static String number(double x) {
        return x == Math.rint(x) && Math.abs(x) < 1e9 ? Long.toString((long) x) : Double.toString(x);
    }

    /** Changes some options of a job's defaults; unset options keep their value. */
    public static final class Builder {
        private FineTuneMode mode;
        private int rank;
        private double alpha;
        private List<String> targets;
        private boolean agent;
        private int epochs;
        private long maxSteps;
        private int batchSize;
        private double learningRate;
        private int threads;
        private int workers;
        private long seed;
        private @Nullable Path outputDir;
        private final Map<String, String> parameters;

        private Builder(FineTuneOptions o) {
            mode = o.mode;
            rank = o.rank;
            alpha = o.alpha;
            targets = new ArrayList<>(o.targets);
            agent = o.agent;
            epochs = o.epochs;
            maxSteps = o.maxSteps;
            batchSize = o.batchSize;
            learningRate = o.learningRate;
            threads = o.threads;
            workers = o.workers;
            seed = o.seed;
            outputDir = o.outputDir;
            parameters = new LinkedHashMap<>(o.parameters);
        }

        /** Sets {@link FineTuneOptions#mode()}. */
        public Builder mode(FineTuneMode value) {
            mode = value;
            return this;
        }

        /** Sets {@link FineTuneOptions#rank()}. */
        public Builder rank(int value) {
            rank = value;
            return this;
        }

        /** Sets {@link FineTuneOptions#alpha()}. */
        public Builder alpha(double value) {
            alpha = value;
            return this;
        }

        /** Sets {@link FineTuneOptions#targets()}. */
        public Builder targets(List<String> value) {
            targets = new ArrayList<>(value);
            return this;
        }

        /** Sets {@link FineTuneOptions#agent()}. */
        public Builder agent(boolean value) {
            agent = value;
            return this;
        }

        /** Sets {@link FineTuneOptions#epochs()}. */
        public Builder epochs(int value) {
            epochs = value;
            return this;
        }

        /** Sets {@link FineTuneOptions#maxSteps()}. */
        public Builder maxSteps(long value) {
            maxSteps = value;
            return this;
        }

        /** Sets {@link FineTuneOptions#batchSize()}. */
        public Builder batchSize(int value) {
            batchSize = value;
            return this;
        }

        /** Sets {@link FineTuneOptions#learningRate()}. */
        public Builder learningRate(double value) {
            learningRate = value;
            return this;
        }

        /** Sets {@link FineTuneOptions#threads()}. */
        public Builder threads(int value) {
            threads = value;
            return this;
        }

        /** Sets {@link FineTuneOptions#workers()}. */
        public Builder workers(int value) {
            workers = value;
            return this;
        }

        /** Sets {@link FineTuneOptions#seed()}. */
        public Builder seed(long value) {
            seed = value;
            return this;
        }

        /** Sets {@link FineTuneOptions#outputDir()} ({@code null}: write nothing). */
        public Builder outputDir(@Nullable Path value) {
            outputDir = value;
            return this;
        }

        /** Sets one job-specific parameter. */
        public Builder parameter(String name, String value) {
            parameters.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /**
         * The options.
         *
         * @throws IllegalArgumentException naming an invalid setting
         */
        public FineTuneOptions build() {
            return new FineTuneOptions(mode, rank, alpha, targets, agent, epochs, maxSteps, batchSize, learningRate,
                    threads, workers, seed, outputDir, parameters);
        }
    }
}
