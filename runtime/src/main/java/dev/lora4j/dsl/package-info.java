/**
 * A configuration DSL over lora4j's builders, written in Java for Java and Kotlin alike: mutable
 * spec objects with JavaBean properties ({@link dev.lora4j.dsl.LoraSpec}, {@link
 * dev.lora4j.dsl.TrainingSpec}) filled in by a {@link dev.lora4j.api.Configure} block, then turned
 * into the immutable {@code LoraConfig} and {@code TrainingConfig}. Entry points are in {@link
 * dev.lora4j.dsl.LoraDsl}.
 *
 * <pre>{@code
 * // Kotlin (sam-with-receiver configured for dev.lora4j.api.ImplicitReceiver)
 * val lora = lora(MyModel()) { rank = 8; alpha = 16.0; targets("query", "value") }
 * val result = train(lora.model(), batches) {
 *     epochs = 3
 *     learningRate = 1e-3
 *     loss { batch -> lossOf(lora.model(), batch) }
 * }
 *
 * // Java: the same calls, the block takes the spec as its parameter
 * LoraModel<MyModel> lora = LoraDsl.lora(new MyModel(), spec -> {
 *     spec.setRank(8);
 *     spec.setAlpha(16.0);
 *     spec.targets("query", "value");
 * });
 * }</pre>
 *
 * <p>Everything here is null-marked (JSpecify): parameters and results are non-null unless
 * annotated {@code @Nullable}, which Kotlin sees as platform-free types ({@code Double?} for an
 * optional alpha).
 */
@NullMarked
package dev.lora4j.dsl;

import org.jspecify.annotations.NullMarked;
