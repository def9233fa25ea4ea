/**
 * Modules and layers: {@link dev.lora4j.nn.Module} (a tree of modules found through fields),
 * {@link dev.lora4j.nn.Linear}, {@link dev.lora4j.nn.Embedding}, {@link dev.lora4j.nn.Conv2d} and
 * the other layers, losses and initialisers. A layer that can carry adapters is an {@link
 * dev.lora4j.nn.AdaptableLayer}; what it needs from them is {@link dev.lora4j.nn.LayerAdapters},
 * which {@code dev.lora4j.lora} implements for LoRA.
 *
 * <p>Null-marked (JSpecify): parameters and results are non-null unless annotated
 * {@code @Nullable} (a layer without bias, a layer without adapters).
 */
@NullMarked
package dev.lora4j.nn;

import org.jspecify.annotations.NullMarked;
