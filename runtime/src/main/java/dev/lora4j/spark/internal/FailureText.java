package dev.lora4j.spark.internal;

/**
 * Marks the messages of failures lora4j raises inside Spark tasks (bad input found while routing
 * the batches), so that the driver can find them in the text of Spark's job failure and report them
 * alone.
 */
public final class FailureText {

    /** What every such message starts with. */
    public static final String PREFIX = "lora4j: ";

    private FailureText() {}

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
