package dev.lora4j.dsl;

import dev.lora4j.pipeline.FineTuneJob;
import dev.lora4j.pipeline.FineTuneJobs;
import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.pipeline.FineTuneSetting;
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
    /** What the block changed, by setting ({@link FineTuneSetting#ALL} is the list of them). */
    private final Map<FineTuneSetting<?>, Object> given = new LinkedHashMap<>();
    private final Map<String, String> parameters = new LinkedHashMap<>();
    private final List<com.google.inject.Module> overrides = new ArrayList<>();
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
        return get(FineTuneSetting.RANK);
    }

    public void setRank(@Nullable Integer rank) {
        set(FineTuneSetting.RANK, rank);
    }

    /** The adapters' alpha, or {@code null} for the job's. */
    public @Nullable Double getAlpha() {
        return get(FineTuneSetting.ALPHA);
    }

    public void setAlpha(@Nullable Double alpha) {
        set(FineTuneSetting.ALPHA, alpha);
    }

    /** The modules to adapt, or {@code null} for the job's. */
    public @Nullable List<String> getTargets() {
        return get(FineTuneSetting.TARGETS);
    }

    public void setTargets(@Nullable List<String> targets) {
        set(FineTuneSetting.TARGETS,
                targets == null ? null : java.util.Collections.unmodifiableList(new ArrayList<>(targets)));
    }

    /** Sets the modules to adapt. */
    public void targets(String... names) {
        setTargets(Arrays.asList(names));
    }

    /** Whether adapters may come through the agent, or {@code null} for the job's. */
    public @Nullable Boolean getAgent() {
        return get(FineTuneSetting.AGENT);
    }

    public void setAgent(@Nullable Boolean agent) {
        set(FineTuneSetting.AGENT, agent);
    }

    /** Passes over the training data at most, or {@code null} for the job's. */
    public @Nullable Integer getEpochs() {
        return get(FineTuneSetting.EPOCHS);
    }

    public void setEpochs(@Nullable Integer epochs) {
        set(FineTuneSetting.EPOCHS, epochs);
    }

    /** Optimizer steps at most, or {@code null} for the job's. */
    public @Nullable Long getMaxSteps() {
        return get(FineTuneSetting.MAX_STEPS);
    }

    public void setMaxSteps(@Nullable Long maxSteps) {
        set(FineTuneSetting.MAX_STEPS, maxSteps);
    }

    /** Examples per step, or {@code null} for the job's. */
    public @Nullable Integer getBatchSize() {
        return get(FineTuneSetting.BATCH_SIZE);
    }

    public void setBatchSize(@Nullable Integer batchSize) {
        set(FineTuneSetting.BATCH_SIZE, batchSize);
    }

    /** AdamW's peak learning rate, or {@code null} for the job's (for the mode). */
    public @Nullable Double getLearningRate() {
        return get(FineTuneSetting.LEARNING_RATE);
    }

    public void setLearningRate(@Nullable Double learningRate) {
        set(FineTuneSetting.LEARNING_RATE, learningRate);
    }

    /**
     * Data-parallel training workers, or {@code null} for the job's (one per core); see {@link
     * dev.lora4j.train.TrainingConfig.Builder#workers}.
     */
    public @Nullable Integer getWorkers() {
        return get(FineTuneSetting.WORKERS);
    }

    public void setWorkers(@Nullable Integer workers) {
        set(FineTuneSetting.WORKERS, workers);
    }

    /** ND4J/BLAS threads when training on one worker, or {@code null} for the job's. */
    public @Nullable Integer getThreads() {
        return get(FineTuneSetting.THREADS);
    }

    public void setThreads(@Nullable Integer threads) {
        set(FineTuneSetting.THREADS, threads);
    }

    /** The random seed, or {@code null} for the job's. */
    public @Nullable Long getSeed() {
        return get(FineTuneSetting.SEED);
    }

    public void setSeed(@Nullable Long seed) {
        set(FineTuneSetting.SEED, seed);
    }

    /** Where the outputs go, or {@code null} for the job's. */
    public @Nullable Path getOutputDir() {
        return get(FineTuneSetting.OUTPUT_DIR);
    }

    public void setOutputDir(@Nullable Path outputDir) {
        set(FineTuneSetting.OUTPUT_DIR, outputDir);
    }

    /** The value the block gave {@code setting}, or {@code null} for the job's. */
    public <T> @Nullable T get(FineTuneSetting<T> setting) {
        return setting.type().cast(given.get(setting));
    }

    /** Gives {@code setting} a value over the job's default; {@code null} goes back to the job's. */
    public <T> void set(FineTuneSetting<T> setting, @Nullable T value) {
        if (value == null) {
            given.remove(setting);
        } else {
            given.put(setting, setting.type().cast(value));
        }
    }

    /** The job-specific parameters set so far. */
    public Map<String, String> getParameters() {
        return java.util.Collections.unmodifiableMap(parameters);
    }

    /** Sets a job-specific parameter (its {@code toString()} is passed on). */
    public void param(String name, Object value) {
        parameters.put(Objects.requireNonNull(name, "name"), String.valueOf(Objects.requireNonNull(value, "value")));
    }

    /**
     * Replaces bindings of lora4j's defaults for this run ({@code Lora4j.injector(overrides)}): the
     * optimizer, the schedules, the adapter factory, the merge strategy, the listeners; e.g. a
     * quieter console by binding {@code ConsoleProgress} to an instance of your own.
     */
    public void override(com.google.inject.Module... modules) {
        overrides.addAll(List.of(modules));
    }

    /** The bindings given to {@link #override}, in order. */
    public List<com.google.inject.Module> getOverrides() {
        return List.copyOf(overrides);
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
    public FineTuneOptions toOptions(FineTuneJob<?, ?> job) {
        FineTuneOptions.Builder b = job.defaults(mode).toBuilder().mode(mode);
        given.forEach((setting, value) -> setting.applyTo(b, value));
        parameters.forEach(b::parameter);
        FineTuneOptions options = b.build();
        FineTuneJobs.checkParameters(job, options);
        return options;
    }
}
