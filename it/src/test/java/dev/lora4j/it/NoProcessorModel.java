package dev.lora4j.it;

import dev.lora4j.api.LoRA;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;

/**
 * A model compiled without lora4j-processor (this module compiles with {@code -proc:none}), so no
 * index names it: the agent finds it through the {@code @LoRA} annotation fallback.
 */
public class NoProcessorModel extends Module {

    @LoRA(rank = 2, alpha = 4)
    final Linear in = new Linear(5, 7);
    final Linear hidden = new Linear(7, 7);
    @LoRA(rank = 3)
    final Linear out;

    public NoProcessorModel() {
        out = new Linear(7, 3);
    }
}
