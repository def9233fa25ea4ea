package dev.lora4j.spark;

import org.jspecify.annotations.Nullable;

/**
 * A Spark training job that failed: its message names the task, the step and the cause (a task's
 * exception, a lost peer, bad input), without Spark's stack of stage failures around it.
 */
public final class SparkTrainingException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** A failure described by {@code message}. */
    public SparkTrainingException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }
}
