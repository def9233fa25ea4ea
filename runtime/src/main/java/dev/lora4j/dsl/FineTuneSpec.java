package dev.lora4j.dsl;

import dev.lora4j.api.TrainingListener;
import dev.lora4j.pipeline.FineTuneJob;
import dev.lora4j.pipeline.FineTuneJobs;
import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.train.ConsoleProgress;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What to change in a {@link FineTuneJob}'s defaults, for {@link LoraDsl#finetune} blocks (and the
 * {@code finetune} command): every property left unset keeps the job's default for the chosen
 * {@link #getMode() mode}. Nothing is checked until {@link #toOptions}.
 *
 * <pre>{@code
 * finetune("minilm-genres") {
 *     rank = 4
 *     alpha = 8.0
 *     targets("query", "key", "value")
 *     epochs = 1
 *     param("train-per-class", 100)
 * }
 * }</pre>
 */
public final class FineTuneSpec {

    private FineTuneMode mode = FineTuneMode.LORA;
    private @Nullable Integer rank;
    private @Nullable Double alpha;
    private @Nullable List<String> targets;
    private @Nullable Boolean agent;
    private @Nullable Integer epochs;
    private @Nullable Long maxSteps;
    private @Nullable Integer batchSize;
    private @Nullable Double learningRate;
    private @Nullable Integer threads;
    private @Nullable Integer workers;
    private @Nullable Long seed;
    private @Nullable Path outputDir;
    private final Map<String, String> parameters = new LinkedHashMap<>();
    private TrainingListener progress = new ConsoleProgress();
    private PrintStream out = System.out;

    /** An empty spec: the job's LoRA defaults. */
    public FineTuneSpec() {}

    /** What trains (default LoRA); the job's defaults depend on it, the learning rate above all. */
    public FineTuneMode getMode() {
        return mode;
    }

    public void setMode(FineTuneMode mode) {
        this.mode = Objects.requireNonNull(mode, "mode");
    }

    /** The adapters' rank, or {@code null} for the job's. */
    public @Nullable Integer getRank() {
        return rank;
    }

    public void setRank(@Nullable Integer rank) {
        this.rank = rank;
    }

    /** The adapters' alpha, or {@code null} for the job's. */
    public @Nullable Double getAlpha() {
        return alpha;
    }

    public void setAlpha(@Nullable Double alpha) {
        this.alpha = alpha;
    }

    /** The modules to adapt, or {@code null} for the job's. */
    public @Nullable List<String> getTargets() {
        return targets;
    }

    public void setTargets(@Nullable List<String> targets) {
        this.targets = targets == null ? null : new ArrayList<>(targets);
    }

    /** Sets the modules to adapt. */
    public void targets(String... names) {
        setTargets(Arrays.asList(names));
    }

    /** Whether adapters may come through the agent, or {@code null} for the job's. */
    public @Nullable Boolean getAgent() {
        return agent;
    }

    public void setAgent(@Nullable Boolean agent) {
        this.agent = agent;
    }

    /** Passes over the training data at most, or {@code null} for the job's. */
    public @Nullable Integer getEpochs() {
        return epochs;
    }

    public void setEpochs(@Nullable Integer epochs) {
        this.epochs = epochs;
    }

    /** Optimizer steps at most, or {@code null} for the job's. */
    public @Nullable Long getMaxSteps() {
        return maxSteps;
    }

    public void setMaxSteps(@Nullable Long maxSteps) {
        this.maxSteps = maxSteps;
    }

    /** Examples per step, or {@code null} for the job's. */
    public @Nullable Integer getBatchSize() {
        return batchSize;
    }

    public void setBatchSize(@Nullable Integer batchSize) {
        this.batchSize = batchSize;
    }

    /** AdamW's peak learning rate, or {@code null} for the job's (for the mode). */
    public @Nullable Double getLearningRate() {
        return learningRate;
    }

    public void setLearningRate(@Nullable Double learningRate) {
        this.learningRate = learningRate;
    }

    /**
     * Data-parallel training workers, or {@code null} for the job's (one per core); see {@link
     * dev.lora4j.train.TrainingConfig.Builder#workers}.
     */
    public @Nullable Integer getWorkers() {
        return workers;
    }

    public void setWorkers(@Nullable Integer workers) {
        this.workers = workers;
    }

    /** ND4J/BLAS threads when training on one worker, or {@code null} for the job's. */
    public @Nullable Integer getThreads() {
        return threads;
    }

    public void setThreads(@Nullable Integer threads) {
        this.threads = threads;
    }

    /** The random seed, or {@code null} for the job's. */
    public @Nullable Long getSeed() {
        return seed;
    }

    public void setSeed(@Nullable Long seed) {
        this.seed = seed;
    }

    /** Where the outputs go, or {@code null} for the job's. */
    public @Nullable Path getOutputDir() {
        return outputDir;
    }

    public void setOutputDir(@Nullable Path outputDir) {
        this.outputDir = outputDir;
    }

    /** The job-specific parameters set so far. */
    public Map<String, String> getParameters() {
        return java.util.Collections.unmodifiableMap(parameters);
    }

    /** Sets a job-specific parameter (its {@code toString()} is passed on). */
    public void param(String name, Object value) {
        parameters.put(Objects.requireNonNull(name, "name"), String.valueOf(Objects.requireNonNull(value, "value")));
    }

    /** Receives every training step and evaluation; a console progress bar unless set. */
    public TrainingListener getProgress() {
        return progress;
    }

    public void setProgress(TrainingListener progress) {
        this.progress = Objects.requireNonNull(progress, "progress");
    }

    /** Where the job reports its stages; {@code System.out} unless set. */
    public PrintStream getOut() {
        return out;
    }

    public void setOut(PrintStream out) {
        this.out = Objects.requireNonNull(out, "out");
    }

    /**
     * {@code job}'s defaults for the mode, with every property set here.
     *
     * @throws IllegalArgumentException naming an invalid setting, or a parameter the job does not know
     */
    public FineTuneOptions toOptions(FineTuneJob job) {
        FineTuneOptions.Builder b = job.defaults(mode).toBuilder().mode(mode);
        if (rank != null) {
            b.rank(rank);
        }
        if (alpha != null) {
            b.alpha(alpha);
        }
        if (targets != null) {
            b.targets(targets);
        }
        if (agent != null) {
            b.agent(agent);
        }
        if (epochs != null) {
            b.epochs(epochs);
        }
        if (maxSteps != null) {
            b.maxSteps(maxSteps);
        }
        if (batchSize != null) {
            b.batchSize(batchSize);
        }
        if (learningRate != null) {
            b.learningRate(learningRate);
        }
        if (threads != null) {
            b.threads(threads);
        }
        if (workers != null) {
            b.workers(workers);
        }
        if (seed != null) {
            b.seed(seed);
        }
        if (outputDir != null) {
            b.outputDir(outputDir);
        }
        parameters.forEach(b::parameter);
        FineTuneOptions options = b.build();
        FineTuneJobs.checkParameters(job, options);
        return options;
    }
}
