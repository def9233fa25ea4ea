/**
 * The {@code lora4j} command-line tool, the all-in-one jar's {@code Main-Class}: {@code java -jar
 * lora4j-runtime-<version>-all.jar inspect <adapter dir> [--json]} and {@code merge --base <model.safetensors>
 * --adapter <adapter dir> --out <merged.safetensors>}. Built on picocli; exit codes in {@link
 * dev.lora4j.cli.ExitCodes}.
 *
 * <p>Null-marked (JSpecify): parameters and results are non-null unless annotated
 * {@code @Nullable}.
 */
@NullMarked
package dev.lora4j.cli;

import org.jspecify.annotations.NullMarked;
