/** Implementation details of {@link dev.lora4j.cli}: error mapping, adapter inspection, logging quirks. Not a supported API. */
package dev.lora4j.cli.internal;
