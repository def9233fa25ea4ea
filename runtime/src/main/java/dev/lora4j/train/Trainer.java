package dev.lora4j.train;

import dev.lora4j.api.TrainingListener;
import dev.lora4j.nn.Module;
import dev.lora4j.train.internal.TrainingRun;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Trains a model's trainable parameters on batches of any type.
 *
 * <p>Each step: {@link Optimizer#zeroGrad()} → the task's loss → {@code backward()} → clipping to
 * {@link TrainingConfig#maxGradNorm()} (the global norm is always computed and reported) →
 * {@link Optimizer#step(double)} with the scheduled rate. The model is in training mode for steps
 * and in evaluation mode (grad mode off) for validation; <b>{@code fit} leaves it in evaluation
 * mode</b>.
 *
 * <p><b>Validation</b> runs every {@link TrainingConfig#evalEverySteps()} steps and/or at the end of
 * each epoch, and once more after the last step if that step was not evaluated (so the final weights
 * compete for "best"). {@code val_loss} is always computed; {@code val_accuracy} with a
 * {@link Predictor}; more with an {@link Evaluator}.
 *
 * <p><b>Best weights.</b> When the monitored metric improves, the values of the parameters that
 * were trainable at the start of {@code fit} are copied (frozen ones never change, so they are not
 * copied), and so are the model's buffers ({@link dev.lora4j.nn.Module#namedBuffers()}, e.g.
 * BatchNorm running statistics); at the end, if {@link TrainingConfig#restoreBestWeights()}, those copies are written back,
 * so the model holds exactly the weights of the best evaluation. Optimizer state is not restored.
 *
 * <p><b>Early stopping</b> ends training after {@link TrainingConfig#patience()} evaluations in a row
 * without an improvement larger than {@link TrainingConfig#minDelta()}.
 *
 * <p><b>Non-finite values.</b> A NaN or infinite loss (checked before backward) or gradient norm
 * (checked after backward) is never turned into an update: the gradients are dropped and the event
 * recorded; then the step is skipped or training stops, per {@link TrainingConfig#nonFinitePolicy()}.
 *
 * <p><b>Checkpoints.</b> With {@link TrainingConfig.Builder#checkpointEvery} the run saves a
 * {@link TrainingCheckpoint} (parameters, optimizer state, step, generator states, ...) every so many
 * steps, atomically; {@link #resume} continues an interrupted run from it.
 *
 * <p>A trainer is stateless between calls; each {@code fit} creates its own optimizer through the
 * {@link OptimizerFactory} and its schedule through the {@link ScheduleFactory}.
 */
public final class Trainer {

    private final TrainingConfig config;
    private final OptimizerFactory optimizers;
    private final ScheduleFactory schedules;
    private final List<TrainingListener> listeners;

    /**
     * A trainer.
     *
     * @param listeners notified in iteration order (Guice's multibinder keeps binding order)
     */
    @Inject
    public Trainer(TrainingConfig config, OptimizerFactory optimizers, ScheduleFactory schedules,
            Set<TrainingListener> listeners) {
        this.config = Objects.requireNonNull(config, "config");
        this.optimizers = Objects.requireNonNull(optimizers, "optimizers");
        this.schedules = Objects.requireNonNull(schedules, "schedules");
        this.listeners = List.copyOf(listeners);
    }

    /** The configuration. */
    public TrainingConfig config() {
        return config;
    }

    /** A trainer like this one with another configuration. */
    public Trainer withConfig(TrainingConfig newConfig) {
        return new Trainer(newConfig, optimizers, schedules, new LinkedHashSet<>(listeners));
    }

    /** A trainer like this one that notifies exactly {@code newListeners}, in their order. */
    public Trainer withListeners(List<? extends TrainingListener> newListeners) {
        return new Trainer(config, optimizers, schedules, new LinkedHashSet<>(newListeners));
    }

    /** Trains without validation (no evaluation, early stopping or best-weight restoring). */
    public <B> TrainingResult fit(Module model, List<B> training, TrainingTask<B> task) {
        return fit(model, training, List.of(), task);
    }

    /**
     * Trains {@code model} on {@code training} for the configured epochs or steps.
     *
     * @param training the batches of one epoch (shuffled per epoch when configured)
     * @param validation the validation batches; may be empty
     * @param task the loss and batch size of a batch, and optional metrics
     */
    public <B> TrainingResult fit(Module model, List<B> training, List<B> validation, TrainingTask<B> task) {
        return prepare(model, training, validation, task).run();
    }

    /**
     * Continues the run whose {@link TrainingCheckpoint} is in {@code checkpoint} (written there by a
     * run configured with {@link TrainingConfig.Builder#checkpointEvery}). {@code model} must be
     * built as it was for that run (its trainable parameters' values are overwritten), and the
     * configuration, batches, task and optimizer must be the same: the run then ends with the
     * weights the uninterrupted run would have reached — bit for bit when the math is deterministic
     * (ND4J on one thread: {@code OMP_NUM_THREADS=1}, or data-parallel workers, each on one
     * thread). Data-parallel runs resume bit for bit with the same worker count; with another they
     * draw the same dropout masks (they are per example) and reach the same weights up to float
     * rounding, as a run with that count from the start would.
     *
     * @throws CheckpointException when there is no checkpoint, it is malformed or from another run
     * @throws IOException if it cannot be read
     */
    public <B> TrainingResult resume(Path checkpoint, Module model, List<B> training, List<B> validation,
            TrainingTask<B> task) throws IOException {
        TrainingRun<B> run = prepare(model, training, validation, task);
        run.restore(TrainingCheckpoint.read(checkpoint), checkpoint.toString());
        return run.run();
    }

    private <B> TrainingRun<B> prepare(Module model, List<B> training, List<B> validation, TrainingTask<B> task) {
        return TrainingRun.prepare(model, training, validation, task, config, optimizers, schedules, listeners, null);
    }

    /** The factory of each run's optimizer. */
    public OptimizerFactory optimizers() {
        return optimizers;
    }

    /** The factory of each run's learning-rate schedule. */
    public ScheduleFactory schedules() {
        return schedules;
    }

    /** The listeners each run notifies, in order. */
    public List<TrainingListener> listeners() {
        return listeners;
    }
}
