package dev.lora4j.io;

/**
 * The single exception type for malformed safetensors content and for misuse of the safetensors
 * writer (wrong order, wrong byte count, unsupported conversion). Its message is one line naming
 * the file, the tensor at fault and the numbers involved, for example {@code model.safetensors:
 * tensor 'a.weight' has shape [4, 4] (16 × F32 = 64 bytes) but data_offsets span 60 bytes}.
 *
 * <p>Failures of the file system itself (missing file, full disk) are reported as
 * {@link java.io.IOException} (or {@link java.io.UncheckedIOException} from methods that declare no
 * checked exception), never as this type.
 */
public class SafetensorsException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** An exception with the given one-line message. */
    public SafetensorsException(String message) {
        super(message);
    }

    /** An exception with the given one-line message and cause. */
    public SafetensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
