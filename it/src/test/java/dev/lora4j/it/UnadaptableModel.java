package dev.lora4j.it;

import dev.lora4j.api.LoRA;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Module;

/** {@code @LoRA} on a layer that cannot be adapted; the processor would reject it, javac without it does not. */
public class UnadaptableModel extends Module {

    @LoRA
    final LayerNorm norm = new LayerNorm(4);
}
