/**
 * Training: {@link dev.lora4j.train.Trainer} runs a {@link dev.lora4j.train.TrainingTask} (the
 * loss of a batch, and optionally predictions, metrics and a slicer for data-parallel workers)
 * under a {@link dev.lora4j.train.TrainingConfig}, with the optimizers (AdamW, SGD, LoRA+),
 * learning-rate schedules, gradient clipping, early stopping, checkpoints and listeners.
 *
 * <p>Null-marked (JSpecify): parameters and results are non-null unless annotated
 * {@code @Nullable}.
 */
@NullMarked
package dev.lora4j.train;

import org.jspecify.annotations.NullMarked;
