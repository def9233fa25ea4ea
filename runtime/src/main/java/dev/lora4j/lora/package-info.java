/**
 * LoRA adapters: the adapters a layer holds ({@link dev.lora4j.lora.LoraLayers}, {@link
 * dev.lora4j.lora.LoraLinear}, {@link dev.lora4j.lora.LoraEmbedding}, {@link
 * dev.lora4j.lora.LoraConv2d}), the model-level registry ({@link dev.lora4j.lora.LoraModel}: add,
 * activate, merge, unmerge, combine and delete adapters) and PEFT's configuration ({@link
 * dev.lora4j.lora.LoraConfig}). Adapters are created and changed only through {@code LoraModel}
 * (and {@code Lora.inject}, {@code Lora.wrap}, {@code Lora.adopt}, which make one); a layer's
 * adapters are read-only from outside this package.
 *
 * <p>Null-marked (JSpecify): parameters and results are non-null unless annotated
 * {@code @Nullable}.
 */
@NullMarked
package dev.lora4j.lora;

import org.jspecify.annotations.NullMarked;
