/**
 * Whole fine-tunes: the one pipeline, {@link dev.lora4j.pipeline.FineTuneRunner} (assembled by
 * Guice), runs any {@link dev.lora4j.pipeline.FineTuneJob} (what is particular to one fine-tune,
 * found through {@link java.util.ServiceLoader}) with {@link dev.lora4j.pipeline.FineTuneOptions}
 * over its defaults, reporting a {@link dev.lora4j.pipeline.FineTuneReport}; the {@code finetune}
 * command, {@code LoraDsl.finetune} and {@link dev.lora4j.pipeline.FineTuneVariant} comparisons
 * run it.
 *
 * <p>Null-marked (JSpecify): parameters and results are non-null unless annotated
 * {@code @Nullable} (an options' output directory, a report's merge check and files).
 */
@NullMarked
package dev.lora4j.pipeline;

import org.jspecify.annotations.NullMarked;
