package dev.lora4j.spark.internal;

/**
 * A training task's failure, its message prefixed so that the driver can find it in the text of
 * Spark's job failure and report it alone.
 */
public final class TaskFailure extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** What every message of a lora4j task failure starts with. */
    public static final String PREFIX = "lora4j: ";

    /** A failure with {@code message} (the prefix is added), caused by {@code cause}. */
    public TaskFailure(String message, Throwable cause) {
        super(PREFIX + message, cause);
    }

    /**
     * The lora4j message in a Spark failure's text (the first line that carries the prefix, from
     * it), or {@code null} when there is none.
     */
    public static String find(String text) {
        if (text == null) {
            return null;
        }
        int at = text.indexOf(PREFIX);
        if (at < 0) {
            return null;
        }
        int end = text.indexOf('\n', at);
        return text.substring(at + PREFIX.length(), end < 0 ? text.length() : end).strip();
    }
}
