package dev.lora4j.dsl;

import dev.lora4j.api.TrainingListener;
import dev.lora4j.guice.TrainingModule;
import dev.lora4j.train.BatchSlicer;
import dev.lora4j.train.ConsoleProgress;
import dev.lora4j.train.Evaluator;
import dev.lora4j.train.MetricGoal;
import dev.lora4j.train.NonFinitePolicy;
import dev.lora4j.train.OptimizerFactory;
import dev.lora4j.train.Predictor;
import dev.lora4j.train.ScheduleFactory;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingTask;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.function.ToIntFunction;
import org.jspecify.annotations.Nullable;

/**
 * The mutable side of a training run for configuration blocks: {@link TrainingConfig}'s settings
 * as JavaBean properties, plus the task (how to compute a batch's loss) and the trainer's parts
 * (optimizer, schedule, listeners). Defaults are {@link TrainingConfig}'s and {@link TrainingModule}'s:
 * AdamW without weight decay, linear warmup and decay, progress on {@code System.err}.
 *
 * <pre>{@code
 * train(model, batches) {
 *     epochs = 3
 *     learningRate = 1e-3
 *     validation = heldOut
 *     loss { batch -> model.loss(batch) }
 *     batchSize { batch -> batch.size }
 *     predictor { batch -> Predictor.Prediction(model.forward(batch).value(), batch.labels) }
 *     isProgress = false
 * }
 * }</pre>
 *
 * @param <B> the batch type
 */
public final class TrainingSpec<B> {

    /** The settings themselves: every property below reads and writes this builder. */
    private final TrainingConfig.Builder config = TrainingConfig.builder();
    private List<B> validation = List.of();
    private boolean progress = true;
    private OptimizerFactory optimizer = OptimizerFactory.adamW(TrainingModule.DEFAULT_WEIGHT_DECAY);
    private ScheduleFactory schedule = ScheduleFactory.LINEAR;
    private final List<TrainingListener> listeners = new ArrayList<>();
    private @Nullable BatchLoss<B> loss;
    private ToIntFunction<B> batchSize = batch -> 1;
    private @Nullable Predictor<B> predictor;
    private @Nullable Evaluator<B> evaluator;
    private @Nullable BatchSlicer<B> slicer;

    /** A spec holding the defaults, with no loss yet. */
    public TrainingSpec() {}

    /** Passes over the training batches, ≥ 1 (default 1). */
    public int getEpochs() {
        return config.epochs();
    }

    public void setEpochs(int epochs) {
        config.epochs(epochs);
    }

    /** The most optimizer steps, ≥ 1; {@code null} (the default) for no limit but the epochs. */
    public @Nullable Long getMaxSteps() {
        return config.maxSteps() == Long.MAX_VALUE ? null : config.maxSteps();
    }

    public void setMaxSteps(@Nullable Long maxSteps) {
        config.maxSteps(maxSteps == null ? Long.MAX_VALUE : maxSteps);
    }

    /** The peak learning rate, positive (default 2e-4). */
    public double getLearningRate() {
        return config.learningRate();
    }

    public void setLearningRate(double learningRate) {
        config.learningRate(learningRate);
    }

    /** Warmup steps, ≥ 0 (default 0). */
    public long getWarmupSteps() {
        return config.warmupSteps();
    }

    public void setWarmupSteps(long warmupSteps) {
        config.warmupSteps(warmupSteps);
    }

    /** The global gradient norm to clip to; 0 turns clipping off (default 1.0). */
    public double getMaxGradNorm() {
        return config.maxGradNorm();
    }

    public void setMaxGradNorm(double maxGradNorm) {
        config.maxGradNorm(maxGradNorm);
    }

    /** Evaluate every this many steps; 0 (the default) means not by steps. */
    public long getEvalEverySteps() {
        return config.evalEverySteps();
    }

    public void setEvalEverySteps(long evalEverySteps) {
        config.evalEverySteps(evalEverySteps);
    }

    /** Whether to evaluate at the end of every epoch (default true; needs {@link #getValidation() validation}). */
    public boolean isEvalEveryEpoch() {
        return config.evalEveryEpoch();
    }

    public void setEvalEveryEpoch(boolean evalEveryEpoch) {
        config.evalEveryEpoch(evalEveryEpoch);
    }

    /** Whether training ends with the trainable weights of the best evaluation (default true). */
    public boolean isRestoreBestWeights() {
        return config.restoreBestWeights();
    }

    public void setRestoreBestWeights(boolean restoreBestWeights) {
        config.restoreBestWeights(restoreBestWeights);
    }

    /** Whether batches are shuffled every epoch (default true). */
    public boolean isShuffle() {
        return config.shuffle();
    }

    public void setShuffle(boolean shuffle) {
        config.shuffle(shuffle);
    }

    /** The seed of the shuffle (default 42). */
    public long getSeed() {
        return config.seed();
    }

    public void setSeed(long seed) {
        config.seed(seed);
    }

    /**
     * Data-parallel workers (default {@link TrainingConfig#AUTO_WORKERS}: one per core when a
     * {@link #slicer} is given); see {@link TrainingConfig.Builder#workers}.
     */
    public int getWorkers() {
        return config.workers();
    }

    public void setWorkers(int workers) {
        config.workers(workers);
    }

    /** What to do on a NaN or infinite loss or gradient (default {@link NonFinitePolicy#STOP}). */
    public NonFinitePolicy getNonFinitePolicy() {
        return config.nonFinitePolicy();
    }

    public void setNonFinitePolicy(NonFinitePolicy nonFinitePolicy) {
        config.nonFinitePolicy(Objects.requireNonNull(nonFinitePolicy, "nonFinitePolicy"));
    }

    /** Validation batches; empty (the default) for none. */
    public List<B> getValidation() {
        return validation;
    }

    public void setValidation(List<B> validation) {
        this.validation = List.copyOf(validation);
    }

    /** Whether progress is printed to {@code System.err} ({@link ConsoleProgress}; default true). */
    public boolean isProgress() {
        return progress;
    }

    public void setProgress(boolean progress) {
        this.progress = progress;
    }

    /** Makes the optimizer (default AdamW without weight decay). */
    public OptimizerFactory getOptimizer() {
        return optimizer;
    }

    public void setOptimizer(OptimizerFactory optimizer) {
        this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
    }

    /** Makes the learning-rate schedule (default {@link ScheduleFactory#LINEAR}). */
    public ScheduleFactory getSchedule() {
        return schedule;
    }

    public void setSchedule(ScheduleFactory schedule) {
        this.schedule = Objects.requireNonNull(schedule, "schedule");
    }

    /** Stops after {@code patience} evaluations without an improvement larger than {@code minDelta}. */
    public void earlyStopping(int patience, double minDelta) {
        config.earlyStopping(patience, minDelta);
    }

    /**
     * Saves a training checkpoint every {@code steps} steps into {@code directory} (0 turns it off;
     * see {@link TrainingConfig.Builder#checkpointEvery}).
     */
    public void checkpointEvery(long steps, Path directory) {
        config.checkpointEvery(steps, Objects.requireNonNull(directory, "directory"));
    }

    /** Steps between training checkpoints; 0 (the default) for none. */
    public long getCheckpointEverySteps() {
        return config.checkpointEverySteps();
    }

    /** Where training checkpoints go, or {@code null} when none are saved. */
    public @Nullable Path getCheckpointDirectory() {
        return config.checkpointDirectory();
    }

    /** The metric early stopping and best weights watch (default {@code val_loss}, minimised). */
    public void monitor(String metric, MetricGoal goal) {
        config.monitor(metric, goal);
    }

    /** The loss of one batch; required. */
    public void loss(BatchLoss<B> loss) {
        this.loss = Objects.requireNonNull(loss, "loss");
    }

    /** The number of examples in a batch, for examples/s and the validation mean (default: 1 per batch). */
    public void batchSize(ToIntFunction<B> batchSize) {
        this.batchSize = Objects.requireNonNull(batchSize, "batchSize");
    }

    /** Reports validation accuracy from the predicted classes. */
    public void predictor(Predictor<B> predictor) {
        this.predictor = Objects.requireNonNull(predictor, "predictor");
    }

    /** Splits batches by example, so that several workers can share a step ({@link TrainingTask#withSlicer}). */
    public void slicer(BatchSlicer<B> slicer) {
        this.slicer = Objects.requireNonNull(slicer, "slicer");
    }

    /** Reports further validation metrics. */
    public void evaluator(Evaluator<B> evaluator) {
        this.evaluator = Objects.requireNonNull(evaluator, "evaluator");
    }

    /** Adds a listener, after the console progress (when on). */
    public void listener(TrainingListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /**
     * The immutable settings.
     *
     * @throws IllegalArgumentException naming the first invalid field
     */
    public TrainingConfig toConfig() {
        return config.build();
    }

    /**
     * The task: loss, batch size and the optional metrics.
     *
     * @throws IllegalStateException when no loss was given
     */
    public TrainingTask<B> toTask() {
        if (loss == null) {
            throw new IllegalStateException("no loss: set one in the training block, e.g. loss { batch -> ... } "
                    + "(Kotlin) or spec.loss(batch -> ...) (Java)");
        }
        TrainingTask<B> task = TrainingTask.of(loss::loss, batchSize);
        if (predictor != null) {
            task = task.withPredictor(predictor);
        }
        if (evaluator != null) {
            task = task.withEvaluator(evaluator);
        }
        if (slicer != null) {
            task = task.withSlicer(slicer);
        }
        return task;
    }

    /** A trainer with these settings, optimizer, schedule and listeners. */
    public Trainer toTrainer() {
        LinkedHashSet<TrainingListener> all = new LinkedHashSet<>();
        if (progress) {
            all.add(new ConsoleProgress());
        }
        all.addAll(listeners);
        return new Trainer(toConfig(), optimizer, schedule, all);
    }
}
