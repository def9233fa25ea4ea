package dev.lora4j.it;

import dev.lora4j.api.LoRA;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;

/** Loaded before the agent is attached at run time, so only retransformation can instrument it. */
public class PreloadedModel extends Module {

    @LoRA(rank = 1)
    final Linear only = new Linear(3, 3);
}
