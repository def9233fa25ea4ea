package dev.lora4j.it.thirdparty;

import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;

/** Loaded before a spec naming it is added in code. */
public class EarlyModel extends Module {

    public final Linear proj = new Linear(4, 4);
}
