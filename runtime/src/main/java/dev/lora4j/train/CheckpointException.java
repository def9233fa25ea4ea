package dev.lora4j.train;

/**
 * A training checkpoint that cannot be used: missing, malformed, or taken from a different run (other
 * trainable parameters or shapes, another number of batches, epochs, seed or optimizer). The
 * message is one line naming the checkpoint and the field, e.g. {@code checkpoint out/ckpt:
 * training_batches is 12 in the checkpoint but 10 now}.
 */
public class CheckpointException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** An exception with the given one-line message. */
    public CheckpointException(String message) {
        super(message);
    }

    /** An exception with the given one-line message and cause. */
    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
