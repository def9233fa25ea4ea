/**
 * Plumbing of {@code dev.lora4j.nn}: finding a module's parameters and children in its fields,
 * and {@link dev.lora4j.nn.internal.AdapterAttachments}, the bridge through which lora4j's own code
 * attaches and detaches a layer's adapters. Not API.
 *
 * <p>Null-marked (JSpecify): parameters and results are non-null unless annotated
 * {@code @Nullable}.
 */
@NullMarked
package dev.lora4j.nn.internal;

import org.jspecify.annotations.NullMarked;
