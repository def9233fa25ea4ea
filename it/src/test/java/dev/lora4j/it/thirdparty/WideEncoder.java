package dev.lora4j.it.thirdparty;

import dev.lora4j.nn.Linear;

/** A subclass the spec names as well: adapted once, with its own layer. */
public class WideEncoder extends Encoder {

    public final Linear value2;

    public WideEncoder() {
        super(6);
        value2 = new Linear(6, 2);
    }
}
