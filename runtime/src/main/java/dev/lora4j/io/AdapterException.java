package dev.lora4j.io;

/**
 * An adapter directory that does not fit: tensor names that are not PEFT's, or tensors whose
 * modules, shapes, ranks or dtypes do not match the model or checkpoint they are applied to. The
 * message is one line naming the tensor (and, for shape problems, both shapes), e.g. {@code
 * adapter_model.safetensors: tensor 'base_model.model.fc.lora_A.weight' has shape [4, 16] but fc
 * (Linear(16 -> 8), r=8) needs [8, 16]}.
 */
public class AdapterException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** An exception with the given one-line message. */
    public AdapterException(String message) {
        super(message);
    }

    /** An exception with the given one-line message and the failure behind it. */
    public AdapterException(String message, Throwable cause) {
        super(message, cause);
    }
}
