/**
 * lora4j's front door, {@link dev.lora4j.Lora} (wrap, inject, adopt, load, save), and {@link
 * dev.lora4j.NativeThreads}, the native thread settings of ND4J and oneDNN.
 *
 * <p>Null-marked (JSpecify): parameters and results are non-null unless annotated
 * {@code @Nullable}.
 */
@NullMarked
package dev.lora4j;

import org.jspecify.annotations.NullMarked;
