package dev.lora4j.it;

import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;

/** Layers, but no {@code @LoRA}: the agent must leave this class alone. */
public class UnrelatedModel extends Module {

    final Linear query = new Linear(4, 4);
    final Linear value = new Linear(4, 4);
}
