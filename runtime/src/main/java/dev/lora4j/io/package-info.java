/**
 * File formats lora4j shares with the Python ecosystem.
 *
 * <ul>
 *   <li>safetensors: {@link dev.lora4j.io.SafetensorsFile} reads (strictly validated, memory-mapped
 *       per tensor), {@link dev.lora4j.io.SafetensorsWriter} writes (atomically, whole or streamed
 *       tensor by tensor), {@link dev.lora4j.io.DType} lists the element types;</li>
 *   <li>PEFT's {@code adapter_config.json}: {@link dev.lora4j.io.PeftAdapterConfig}, which keeps
 *       fields it does not know and computes per-module rank, alpha and targeting as PEFT does.</li>
 * </ul>
 *
 * <p>Malformed content raises {@link dev.lora4j.io.SafetensorsException} or {@link
 * dev.lora4j.io.PeftConfigException} with a one-line message naming the file; I/O failures stay
 * {@link java.io.IOException}s.
 */
package dev.lora4j.io;
