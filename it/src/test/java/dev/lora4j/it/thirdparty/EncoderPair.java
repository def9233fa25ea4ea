package dev.lora4j.it.thirdparty;

import dev.lora4j.nn.Module;

/** A named model built from two instances of another named model. */
public class EncoderPair extends Module {

    public final Encoder first = new Encoder();
    public final Encoder second;

    public EncoderPair() {
        second = new Encoder();
    }
}
