package dev.lora4j.it.thirdparty;

import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;

/** Named by the spec, but without any layer its targets match. */
public class Mismatch extends Module {

    public final Linear fc = new Linear(3, 3);
    public final LayerNorm norm = new LayerNorm(3);
}
