/**
 * The {@code lora4j} command-line tool, the all-in-one jar's {@code Main-Class}: {@code java -jar
 * lora4j-runtime-<version>-all.jar inspect <adapter dir> [--json]} and {@code merge --base <model.safetensors>
 * --adapter <adapter dir> --out <merged.safetensors>}. Built on picocli; exit codes in {@link
 * dev.lora4j.cli.ExitCodes}.
 */
package dev.lora4j.cli;
