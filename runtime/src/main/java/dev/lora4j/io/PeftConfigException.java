package dev.lora4j.io;

/**
 * An {@code adapter_config.json} that cannot be used: not JSON, not a LoRA config, or a field with
 * the wrong type or an out-of-range value. The message is one line naming the file and the field,
 * e.g. {@code adapter_config.json: field 'r' must be an integer >= 1, got 0}. I/O failures are
 * reported as {@link java.io.IOException} instead.
 */
public class PeftConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** An exception with the given one-line message. */
    public PeftConfigException(String message) {
        super(message);
    }

    /** An exception with the given one-line message and cause. */
    public PeftConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
