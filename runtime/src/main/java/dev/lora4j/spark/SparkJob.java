package dev.lora4j.spark;

import dev.lora4j.nn.Module;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingTask;
import java.io.Serializable;
import java.util.List;
import java.util.Objects;

/**
 * What a Spark training job runs on each task, shipped to the executors by Java serialization
 * (so every field must be serializable: paths, names and numbers, not models or arrays). It builds
 * the model, and it says how large a batch is and how to cut one, so that each of the {@code N}
 * tasks takes shard {@code k} of every global batch, exactly as in-process worker {@code k} would
 * ({@link dev.lora4j.train.BatchSlicer}).
 *
 * <p>{@link #setUp()} runs once per task, one task of a JVM at a time (so global seeds such as
 * {@link dev.lora4j.nn.Init#seed} give every task the same model); the frozen base can be loaded
 * once per executor JVM and shared by its tasks with {@link ExecutorShared}. The tasks start from
 * task 0's trainable values whatever their own setup drew.
 *
 * @param <B> the batch type; batches travel between executors, so it must be serializable
 */
public interface SparkJob<B> extends Serializable {

    /** The model and how to train it; called on each task (and never on the driver by lora4j). */
    Setup<B> setUp();

    /** The number of examples in {@code batch}. */
    int size(B batch);

    /** Examples {@code [from, to)} of {@code batch}, as {@link dev.lora4j.train.BatchSlicer#slice}. */
    B slice(B batch, int from, int to);

    /**
     * One task's model and training.
     *
     * @param model the model, its trainable parameters (adapters, {@code modules_to_save}) set
     * @param task the loss of a shard (a mean over its examples), and optionally a predictor or
     *     evaluator for validation
     * @param trainer the configuration, optimizer, schedule and listeners, as for in-process
     *     training (the bound {@code Trainer} of {@link dev.lora4j.guice.Lora4j#injector}, with
     *     {@code withConfig} and {@code withListeners}). {@link TrainingConfig#workers()} must
     *     be 1 or {@link TrainingConfig#AUTO_WORKERS} (a task is one worker; choose the number of
     *     tasks instead). Only task 0 notifies the listeners (progress, history) and writes
     *     checkpoints, into a directory every task can read
     * @param validation validation batches, evaluated whole by every task (the tasks then take the
     *     same early-stopping and best-weight decisions without exchanging anything); may be empty
     * @param <B> the batch type
     */
    record Setup<B>(Module model, TrainingTask<B> task, Trainer trainer, List<B> validation) {

        /** Checks and copies. */
        public Setup {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(task, "task");
            Objects.requireNonNull(trainer, "trainer");
            validation = List.copyOf(validation);
            int workers = trainer.config().workers();
            if (workers != 1 && workers != TrainingConfig.AUTO_WORKERS) {
                throw new IllegalArgumentException("TrainingConfig.workers is " + workers + ", but a Spark task"
                        + " trains on one worker: choose the number of Spark tasks instead (SparkTrainer.tasks)");
            }
        }
    }
}
