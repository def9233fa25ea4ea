package dev.lora4j.it.thirdparty;

import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;

/** Named by a spec added in code while the program runs, before this class loads. */
public class LateModel extends Module {

    public final Linear proj = new Linear(4, 4);
}
