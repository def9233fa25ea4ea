/**
 * Implementation details of {@link dev.lora4j.io}: header encoding, 16-bit float conversion, tensor
 * byte transfer, atomic files and PEFT's matching rules. Public only for use across packages; not
 * a supported API.
 */
package dev.lora4j.io.internal;
