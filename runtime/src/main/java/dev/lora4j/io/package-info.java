/**
 * File formats lora4j shares with the Python ecosystem.
 *
 * <ul>
 *   <li>safetensors: {@link dev.lora4j.io.SafetensorsFile} reads (strictly validated, memory-mapped
 *       per tensor), {@link dev.lora4j.io.SafetensorsWriter} writes (atomically, whole or streamed
 *       tensor by tensor), {@link dev.lora4j.io.DType} lists the element types;</li>
 *   <li>PEFT's {@code adapter_config.json}: {@link dev.lora4j.io.PeftAdapterConfig}, which keeps
 *       fields it does not know and computes per-module rank, alpha and targeting as PEFT does;</li>
 *   <li>PEFT adapter directories: {@link dev.lora4j.Lora#save} and {@link dev.lora4j.Lora#load}
 *       save a model's adapters and load them back, all-or-nothing; {@link
 *       dev.lora4j.io.AdapterFiles} holds the variants with save options and adapter names;</li>
 *   <li>merging an adapter directory into a safetensors checkpoint without a model: {@link
 *       dev.lora4j.io.CheckpointMerger}.</li>
 * </ul>
 *
 * <p>Malformed content raises {@link dev.lora4j.io.SafetensorsException} or {@link
 * dev.lora4j.io.PeftConfigException} with a one-line message naming the file, adapters that do not fit a
 * model or checkpoint raise {@link dev.lora4j.io.AdapterException} naming the tensor; I/O failures stay
 * {@link java.io.IOException}s.
 *
 * <p>Null-marked (JSpecify): parameters and results are non-null unless annotated
 * {@code @Nullable}.
 */
@NullMarked
package dev.lora4j.io;

import org.jspecify.annotations.NullMarked;
