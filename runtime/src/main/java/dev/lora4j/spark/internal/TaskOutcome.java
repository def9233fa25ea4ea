package dev.lora4j.spark.internal;

import dev.lora4j.train.TrainingResult;
import java.io.Serializable;
import java.util.Map;

/**
 * What one training task sends back to the driver.
 *
 * @param task the task's index
 * @param result the task's training history (every task's is the same but for timings)
 * @param values the trained parameters by name, row-major ({@code float[]} or {@code double[]}),
 *     from task 0 only (empty from the others)
 * @param shapes the trained parameters' shapes by name (task 0 only)
 * @param checksum a hash of the bits of every trained parameter, to check that the tasks agree
 * @param bytesSent bytes the task sent to the others in gradient exchanges over the whole run
 * @param bytesReceived bytes the task received (validation results and the start-up values included)
 * @param exchanges the gradient exchanges it took part in (one per step)
 * @param exchangeNanos the time it spent in all exchanges
 * @param messageBytes the length of its gradient message per step
 * @param resumedFromStep the checkpoint step the task resumed from, {@code -1} for a fresh start
 * @param stageAttempt Spark's attempt number of the training stage
 * @param failure why the task failed, or {@code null} when it trained
 * @param peerLost whether it failed only because another task did (that task's failure is the cause)
 */
public record TaskOutcome(int task, TrainingResult result, Map<String, Object> values, Map<String, long[]> shapes,
        long checksum, long bytesSent, long bytesReceived, long exchanges, long exchangeNanos, long messageBytes,
        long resumedFromStep,
        int stageAttempt, String failure, boolean peerLost) implements Serializable {

    /** The outcome of a task that failed. */
    public static TaskOutcome failed(int task, String failure, boolean peerLost) {
        return new TaskOutcome(task, null, java.util.Map.of(), java.util.Map.of(), 0, 0, 0, 0, 0, 0, -1, -1, failure,
                peerLost);
    }
}
