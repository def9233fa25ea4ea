/**
 * The two ways adapters are put on a model's layers without the caller naming them one by one:
 * from {@code @LoRA} fields ({@link dev.lora4j.inject.AnnotationInjector}, what {@code Lora.inject}
 * and the agent do) and from a target spec's PEFT config ({@link dev.lora4j.inject.TargetInjector}).
 *
 * <p>Null-marked (JSpecify): parameters and results are non-null unless annotated
 * {@code @Nullable}.
 */
@NullMarked
package dev.lora4j.inject;

import org.jspecify.annotations.NullMarked;
