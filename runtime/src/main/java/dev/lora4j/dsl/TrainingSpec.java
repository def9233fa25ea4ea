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

    private final TrainingConfig.Builder config = TrainingConfig.builder();
    private final TrainingConfig defaults = TrainingConfig.defaults();
    private int epochs = defaults.epochs();
    private @Nullable Long maxSteps;
    private double learningRate = defaults.learningRate();
    private long warmupSteps = defaults.warmupSteps();
    private double maxGradNorm = defaults.maxGradNorm();
    private long evalEverySteps = defaults.evalEverySteps();
    private boolean evalEveryEpoch = defaults.evalEveryEpoch();
    private boolean restoreBestWeights = defaults.restoreBestWeights();
    private boolean shuffle = defaults.shuffle();
    private long seed = defaults.seed();
    private NonFinitePolicy nonFinitePolicy = defaults.nonFinitePolicy();
    private int workers = defaults.workers();
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
        return epochs;
    }

    public void setEpochs(int epochs) {
        this.epochs = epochs;
    }

    /** The most optimizer steps, ≥ 1; {@code null} (the default) for no limit but the epochs. */
    public @Nullable Long getMaxSteps() {
        return maxSteps;
    }

    public void setMaxSteps(@Nullable Long maxSteps) {
        this.maxSteps = maxSteps;
    }

    /** The peak learning rate, positive (default 2e-4). */
    public double getLearningRate() {
        return learningRate;
    }

    public void setLearningRate(double learningRate) {
        this.learningRate = learningRate;
    }

    /** Warmup steps, ≥ 0 (default 0). */
    public long getWarmupSteps() {
        return warmupSteps;
    }

    public void setWarmupSteps(long warmupSteps) {
        this.warmupSteps = warmupSteps;
    }

    /** The global gradient norm to clip to; 0 turns clipping off (default 1.0). */
    public double getMaxGradNorm() {
        return maxGradNorm;
    }

    public void setMaxGradNorm(double maxGradNorm) {
        this.maxGradNorm = maxGradNorm;
    }

    /** Evaluate every this many steps; 0 (the default) means not by steps. */
    public long getEvalEverySteps() {
        return evalEverySteps;
    }

    public void setEvalEverySteps(long evalEverySteps) {
        this.evalEverySteps = evalEverySteps;
    }

    /** Whether to evaluate at the end of every epoch (default true; needs {@link #getValidation() validation}). */
    public boolean isEvalEveryEpoch() {
        return evalEveryEpoch;
    }

    public void setEvalEveryEpoch(boolean evalEveryEpoch) {
        this.evalEveryEpoch = evalEveryEpoch;
    }

    /** Whether training ends with the trainable weights of the best evaluation (default true). */
    public boolean isRestoreBestWeights() {
        return restoreBestWeights;
    }

    public void setRestoreBestWeights(boolean restoreBestWeights) {
        this.restoreBestWeights = restoreBestWeights;
    }

    /** Whether batches are shuffled every epoch (default true). */
    public boolean isShuffle() {
        return shuffle;
    }

    public void setShuffle(boolean shuffle) {
        this.shuffle = shuffle;
    }

    /** The seed of the shuffle (default 42). */
    public long getSeed() {
        return seed;
    }

    public void setSeed(long seed) {
        this.seed = seed;
    }

    /**
     * Data-parallel workers (default {@link TrainingConfig#AUTO_WORKERS}: one per core when a
     * {@link #slicer} is given); see {@link TrainingConfig.Builder#workers}.
     */
    public int getWorkers() {
        return workers;
    }

    public void setWorkers(int workers) {
        this.workers = workers;
    }

    /** What to do on a NaN or infinite loss or gradient (default {@link NonFinitePolicy#STOP}). */
    public NonFinitePolicy getNonFinitePolicy() {
        return nonFinitePolicy;
    }

    public void setNonFinitePolicy(NonFinitePolicy nonFinitePolicy) {
        this.nonFinitePolicy = Objects.requireNonNull(nonFinitePolicy, "nonFinitePolicy");
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
        config.epochs(epochs)
                .maxSteps(maxSteps == null ? Long.MAX_VALUE : maxSteps)
                .learningRate(learningRate)
                .warmupSteps(warmupSteps)
                .maxGradNorm(maxGradNorm)
                .evalEverySteps(evalEverySteps)
                .evalEveryEpoch(evalEveryEpoch)
                .restoreBestWeights(restoreBestWeights)
                .shuffle(shuffle)
                .seed(seed)
                .nonFinitePolicy(nonFinitePolicy)
                .workers(workers);
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
