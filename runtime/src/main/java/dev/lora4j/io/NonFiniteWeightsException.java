package dev.lora4j.io;

/**
 * Weights holding NaN or infinity that were about to be saved; nothing is written. The message is
 * one line naming the tensor, how many values are bad and the first one, e.g. {@code refusing to
 * save adapter 'default' to out: tensor 'base_model.model.fc.lora_B.weight' holds 2 NaN or infinite
 * values (first: NaN at [3, 0]); nothing was written}.
 */
public class NonFiniteWeightsException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /** An exception with the given one-line message. */
    public NonFiniteWeightsException(String message) {
        super(message);
    }
}
