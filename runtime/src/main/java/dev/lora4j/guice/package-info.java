/**
 * Guice modules for lora4j's replaceable parts (optimizer, schedules, listeners, adapter factory,
 * merge strategy) and {@link dev.lora4j.guice.Lora4j}, the injector over their defaults.
 *
 * <p>Null-marked (JSpecify): parameters and results are non-null unless annotated
 * {@code @Nullable}.
 */
@NullMarked
package dev.lora4j.guice;

import org.jspecify.annotations.NullMarked;
