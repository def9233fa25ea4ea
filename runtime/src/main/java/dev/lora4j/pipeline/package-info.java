/**
 * Whole fine-tunes: a {@link dev.lora4j.pipeline.FineTuneJob} (found through {@link
 * java.util.ServiceLoader}) run with {@link dev.lora4j.pipeline.FineTuneOptions} over its
 * defaults, reporting a {@link dev.lora4j.pipeline.FineTuneReport}; the {@code finetune} command
 * and {@code LoraDsl.finetune} run them.
 *
 * <p>Null-marked (JSpecify): parameters and results are non-null unless annotated
 * {@code @Nullable} (an options' output directory, a report's merge check and files).
 */
@NullMarked
package dev.lora4j.pipeline;

import org.jspecify.annotations.NullMarked;
