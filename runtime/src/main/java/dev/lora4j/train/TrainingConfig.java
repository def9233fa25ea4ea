package dev.lora4j.train;

import org.jspecify.annotations.Nullable;

/**
 * The settings of a training run. Immutable; made by {@link #builder()}, whose {@link Builder#build()}
 * checks every field and names the one that is wrong.
 *
 * <p>Defaults: 1 epoch, no step limit, learning rate 2e-4, no warmup, gradient clipping at global
 * norm 1.0, evaluation after every epoch (not by steps), monitoring {@code val_loss} (minimised),
 * no early stopping, best weights restored, batches shuffled with seed 42,
 * {@link NonFinitePolicy#STOP} on a NaN or infinite loss or gradient, and {@link #AUTO_WORKERS}
 * data-parallel workers (one per core, for a task that can {@linkplain TrainingTask#withSlicer
 * slice} its batches).
 */
public final class TrainingConfig {

    /** The metric name of the mean validation loss, always computed when there is validation data. */
    public static final String VAL_LOSS = "val_loss";
    /** The metric name of validation accuracy, computed when the task has a predictor. */
    public static final String VAL_ACCURACY = "val_accuracy";
    /** {@link Builder#workers} value meaning one worker per core the JVM may use. */
    public static final int AUTO_WORKERS = 0;

    private final int epochs;
    private final long maxSteps;
    private final double learningRate;
    private final long warmupSteps;
    private final double maxGradNorm;
    private final long evalEverySteps;
    private final boolean evalEveryEpoch;
    private final String monitor;
    private final MetricGoal goal;
    private final int patience;
    private final double minDelta;
    private final boolean restoreBestWeights;
    private final boolean shuffle;
    private final long seed;
    private final NonFinitePolicy nonFinitePolicy;
    private final long checkpointEverySteps;
    private final java.nio.file.@Nullable Path checkpointDirectory;
    private final int workers;

    private TrainingConfig(Builder b) {
        epochs = b.epochs;
        maxSteps = b.maxSteps;
        learningRate = b.learningRate;
        warmupSteps = b.warmupSteps;
        maxGradNorm = b.maxGradNorm;
        evalEverySteps = b.evalEverySteps;
        evalEveryEpoch = b.evalEveryEpoch;
        monitor = b.monitor;
        goal = b.goal;
        patience = b.patience;
        minDelta = b.minDelta;
        restoreBestWeights = b.restoreBestWeights;
        shuffle = b.shuffle;
        seed = b.seed;
        nonFinitePolicy = b.nonFinitePolicy;
        checkpointEverySteps = b.checkpointEverySteps;
        checkpointDirectory = b.checkpointDirectory;
        workers = b.workers;
    }

    /** A builder holding the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** The defaults. */
    public static TrainingConfig defaults() {
        return builder().build();
    }

    /** A builder holding this configuration's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.epochs = epochs;
        b.maxSteps = maxSteps;
        b.learningRate = learningRate;
        b.warmupSteps = warmupSteps;
        b.maxGradNorm = maxGradNorm;
        b.evalEverySteps = evalEverySteps;
        b.evalEveryEpoch = evalEveryEpoch;
        b.monitor = monitor;
        b.goal = goal;
        b.patience = patience;
        b.minDelta = minDelta;
        b.restoreBestWeights = restoreBestWeights;
        b.shuffle = shuffle;
        b.seed = seed;
        b.nonFinitePolicy = nonFinitePolicy;
        b.checkpointEverySteps = checkpointEverySteps;
        b.checkpointDirectory = checkpointDirectory;
        b.workers = workers;
        return b;
    }

    /** Passes over the training batches. */
    public int epochs() {
        return epochs;
    }

    /** The most optimizer steps to take ({@link Long#MAX_VALUE} for no limit). */
    public long maxSteps() {
        return maxSteps;
    }

    /** The peak learning rate handed to the schedule. */
    public double learningRate() {
        return learningRate;
    }

    /** Warmup steps handed to the schedule. */
    public long warmupSteps() {
        return warmupSteps;
    }

    /** The global gradient norm to clip to; 0 means no clipping (the norm is still computed). */
    public double maxGradNorm() {
        return maxGradNorm;
    }

    /** Evaluate every this many steps; 0 means not by steps. */
    public long evalEverySteps() {
        return evalEverySteps;
    }

    /** Whether to evaluate at the end of every epoch. */
    public boolean evalEveryEpoch() {
        return evalEveryEpoch;
    }

    /** The metric early stopping and best-weight tracking watch. */
    public String monitor() {
        return monitor;
    }

    /** Whether the monitored metric should go down or up. */
    public MetricGoal goal() {
        return goal;
    }

    /** Whether early stopping is on. */
    public boolean earlyStopping() {
        return patience > 0;
    }

    /** Evaluations without improvement after which training stops (0: early stopping off). */
    public int patience() {
        return patience;
    }

    /** The least change that counts as an improvement. */
    public double minDelta() {
        return minDelta;
    }

    /** Whether the trainable parameters end at their values from the best evaluation. */
    public boolean restoreBestWeights() {
        return restoreBestWeights;
    }

    /** Whether batches are shuffled every epoch. */
    public boolean shuffle() {
        return shuffle;
    }

    /** The seed of the shuffle. */
    public long seed() {
        return seed;
    }

    /** What to do on a NaN or infinite loss or gradient. */
    public NonFinitePolicy nonFinitePolicy() {
        return nonFinitePolicy;
    }

    /** Save a training checkpoint every this many steps; 0: never. */
    public long checkpointEverySteps() {
        return checkpointEverySteps;
    }

    /** Where training checkpoints go ({@code null} when not checkpointing). */
    public java.nio.file.@Nullable Path checkpointDirectory() {
        return checkpointDirectory;
    }

    /**
     * The data-parallel workers asked for: {@link #AUTO_WORKERS} (0) for one per core, else ≥ 1.
     *
     * @see Builder#workers
     */
    public int workers() {
        return workers;
    }

    @Override
    public String toString() {
        return "TrainingConfig{epochs=" + epochs + ", maxSteps=" + (maxSteps == Long.MAX_VALUE ? "none" : maxSteps)
                + ", learningRate=" + learningRate + ", warmupSteps=" + warmupSteps + ", maxGradNorm=" + maxGradNorm
                + ", evalEverySteps=" + evalEverySteps + ", evalEveryEpoch=" + evalEveryEpoch + ", monitor=" + monitor
                + " (" + goal + "), patience=" + patience + ", minDelta=" + minDelta + ", restoreBestWeights="
                + restoreBestWeights + ", shuffle=" + shuffle + ", seed=" + seed + ", nonFinitePolicy=" + nonFinitePolicy
                + (checkpointEverySteps > 0 ? ", checkpointEverySteps=" + checkpointEverySteps + ", checkpointDirectory="
                        + checkpointDirectory : "") + ", workers=" + (workers == AUTO_WORKERS ? "auto" : workers) + "}";
    }

    /** Collects settings; {@link #build()} validates them. */
    public static final class Builder {
        private int epochs = 1;
        private long maxSteps = Long.MAX_VALUE;
        private double learningRate = 2e-4;
        private long warmupSteps = 0;
        private double maxGradNorm = 1.0;
        private long evalEverySteps = 0;
        private boolean evalEveryEpoch = true;
        private String monitor = VAL_LOSS;
        private MetricGoal goal = MetricGoal.MINIMIZE;
        private int patience = 0;
        private double minDelta = 0.0;
        private boolean restoreBestWeights = true;
        private boolean shuffle = true;
        private long seed = 42;
        private NonFinitePolicy nonFinitePolicy = NonFinitePolicy.STOP;
        private long checkpointEverySteps = 0;
        private java.nio.file.@Nullable Path checkpointDirectory;
        private int workers = AUTO_WORKERS;

        private Builder() {}

        /** Passes over the training batches, ≥ 1. */
        public Builder epochs(int epochs) {
            this.epochs = epochs;
            return this;
        }

        /** The most optimizer steps, ≥ 1; by default there is no limit but the epochs. */
        public Builder maxSteps(long maxSteps) {
            this.maxSteps = maxSteps;
            return this;
        }

        /** The peak learning rate, positive and finite. */
        public Builder learningRate(double learningRate) {
            this.learningRate = learningRate;
            return this;
        }

        /** Warmup steps, ≥ 0 (capped at the planned number of steps). */
        public Builder warmupSteps(long warmupSteps) {
            this.warmupSteps = warmupSteps;
            return this;
        }

        /** The global gradient norm to clip to, positive; 0 turns clipping off. */
        public Builder maxGradNorm(double maxGradNorm) {
            this.maxGradNorm = maxGradNorm;
            return this;
        }

        /** Evaluate every this many steps, ≥ 0 (0: not by steps). */
        public Builder evalEverySteps(long evalEverySteps) {
            this.evalEverySteps = evalEverySteps;
            return this;
        }

        /** Whether to evaluate at the end of every epoch. */
        public Builder evalEveryEpoch(boolean evalEveryEpoch) {
            this.evalEveryEpoch = evalEveryEpoch;
            return this;
        }

        /** The metric to watch and whether it should go down or up. */
        public Builder monitor(String metric, MetricGoal goal) {
            this.monitor = metric;
            this.goal = goal;
            return this;
        }

        /**
         * Stops after {@code patience} evaluations in a row without the monitored metric improving
         * by more than {@code minDelta}.
         *
         * @param patience ≥ 1
         * @param minDelta ≥ 0
         */
        public Builder earlyStopping(int patience, double minDelta) {
            this.patience = patience;
            this.minDelta = minDelta;
            return this;
        }

        /** Whether to end with the trainable parameters' values from the best evaluation. */
        public Builder restoreBestWeights(boolean restoreBestWeights) {
            this.restoreBestWeights = restoreBestWeights;
            return this;
        }

        /** Whether to shuffle the batches every epoch. */
        public Builder shuffle(boolean shuffle) {
            this.shuffle = shuffle;
            return this;
        }

        /** The seed of the shuffle. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** What to do on a NaN or infinite loss or gradient. */
        public Builder nonFinitePolicy(NonFinitePolicy policy) {
            this.nonFinitePolicy = policy;
            return this;
        }

        /**
         * Saves a {@link TrainingCheckpoint} into {@code directory} every {@code steps} steps
         * (replacing the previous one atomically), from which {@link Trainer#resume} continues.
         *
         * @param steps ≥ 1, or 0 to turn checkpointing off
         */
        public Builder checkpointEvery(long steps, java.nio.file.@Nullable Path directory) {
            this.checkpointEverySteps = steps;
            this.checkpointDirectory = directory;
            return this;
        }

        /**
         * Trains on {@code workers} threads of this JVM, data-parallel: each step's batch is split
         * by example into that many shards (through the task's {@link TrainingTask#withSlicer
         * slicer}), each worker computes its shard's share of the mean-loss gradient into buffers of
         * its own over the one shared, read-only base, the shares are summed in a fixed order, and
         * one clipped optimizer step follows. Each worker runs ND4J on one native thread (with more
         * than one worker, {@link dev.lora4j.NativeThreads#limit NativeThreads.limit(1)} holds for
         * the process from then on). Dropout
         * masks are then drawn per example, so that the weights do not depend on thread timing:
         * the same seed and worker count give bit-for-bit the same weights, and another worker
         * count the same weights up to float rounding. Validation batches are spread over the
         * workers too.
         *
         * <p>{@link #AUTO_WORKERS} (the default): one per core ({@code availableProcessors()}) when
         * the task has a slicer and the model has no buffers that training updates (BatchNorm's
         * running statistics), else one, which then, if nobody limited ND4J's threads, runs its
         * matrix products on every core and the rest on one thread ({@link
         * dev.lora4j.NativeThreads#split NativeThreads.split(cores, 1)}, measured fastest). An
         * explicit count leaves a one-worker run's threads as they are.
         *
         * @param workers ≥ 1, or {@link #AUTO_WORKERS}
         */
        public Builder workers(int workers) {
            this.workers = workers;
            return this;
        }

        // what is set so far, unchecked (build() checks): read by the DSL's TrainingSpec, which is a
        // view over this builder rather than a copy of its fields

        /** The epochs set so far. */
        public int epochs() {
            return epochs;
        }

        /** The step limit set so far ({@code Long.MAX_VALUE}: none). */
        public long maxSteps() {
            return maxSteps;
        }

        /** The learning rate set so far. */
        public double learningRate() {
            return learningRate;
        }

        /** The warmup steps set so far. */
        public long warmupSteps() {
            return warmupSteps;
        }

        /** The clipping norm set so far. */
        public double maxGradNorm() {
            return maxGradNorm;
        }

        /** The evaluation interval in steps set so far. */
        public long evalEverySteps() {
            return evalEverySteps;
        }

        /** Whether evaluating every epoch is set so far. */
        public boolean evalEveryEpoch() {
            return evalEveryEpoch;
        }

        /** Whether restoring the best weights is set so far. */
        public boolean restoreBestWeights() {
            return restoreBestWeights;
        }

        /** Whether shuffling is set so far. */
        public boolean shuffle() {
            return shuffle;
        }

        /** The seed set so far. */
        public long seed() {
            return seed;
        }

        /** The non-finite policy set so far. */
        public NonFinitePolicy nonFinitePolicy() {
            return nonFinitePolicy;
        }

        /** The checkpoint interval set so far (0: none). */
        public long checkpointEverySteps() {
            return checkpointEverySteps;
        }

        /** The checkpoint directory set so far, or {@code null}. */
        public java.nio.file.@Nullable Path checkpointDirectory() {
            return checkpointDirectory;
        }

        /** The workers set so far. */
        public int workers() {
            return workers;
        }

        /**
         * The configuration.
         *
         * @throws IllegalArgumentException naming the first invalid field
         */
        public TrainingConfig build() {
            require(epochs >= 1, "epochs", "must be >= 1", epochs);
            require(maxSteps >= 1, "maxSteps", "must be >= 1", maxSteps);
            require(learningRate > 0 && Double.isFinite(learningRate), "learningRate", "must be positive and finite",
                    learningRate);
            require(warmupSteps >= 0, "warmupSteps", "must be >= 0", warmupSteps);
            require(maxGradNorm >= 0 && Double.isFinite(maxGradNorm), "maxGradNorm",
                    "must be positive and finite, or 0 for no clipping", maxGradNorm);
            require(evalEverySteps >= 0, "evalEverySteps", "must be >= 0", evalEverySteps);
            require(monitor != null && !monitor.isBlank(), "monitor", "must name a metric", monitor);
            require(goal != null, "goal", "must be set", goal);
            require(patience >= 0, "patience", "must be >= 1 (or 0 with early stopping off)", patience);
            require(minDelta >= 0 && Double.isFinite(minDelta), "minDelta", "must be >= 0 and finite", minDelta);
            require(nonFinitePolicy != null, "nonFinitePolicy", "must be set", nonFinitePolicy);
            require(checkpointEverySteps >= 0, "checkpointEverySteps", "must be >= 0", checkpointEverySteps);
            require(workers >= 0, "workers", "must be >= 1, or 0 (AUTO_WORKERS) for one per core", workers);
            require(checkpointEverySteps == 0 || checkpointDirectory != null, "checkpointDirectory",
                    "must be set when checkpointEverySteps > 0", checkpointDirectory);
            if (patience > 0 && evalEverySteps == 0 && !evalEveryEpoch) {
                throw new IllegalArgumentException("TrainingConfig.patience: early stopping needs evaluations; "
                        + "set evalEverySteps > 0 or evalEveryEpoch(true)");
            }
            return new TrainingConfig(this);
        }

        private static void require(boolean ok, String field, String rule, Object value) {
            if (!ok) {
                throw new IllegalArgumentException("TrainingConfig." + field + " " + rule + ", got " + value);
            }
        }
    }
}
