package dev.lora4j.spark;

import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.train.TrainingResult;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The outcome of a Spark training job, on the driver: the training history, the trained values of
 * the trainable parameters (adapters and {@code modules_to_save}), and what the tasks exchanged.
 * {@link #applyTo} puts the values into a model built as the tasks built theirs; saving it then
 * goes through {@link dev.lora4j.Lora#save} as after in-process training.
 */
public final class SparkTrainingResult {

    private final TrainingResult training;
    private final Map<String, INDArray> parameters;
    private final int tasks;
    private final long bytesSentPerStep;
    private final long messageBytes;
    private final Duration exchangeTime;
    private final long resumedFromStep;
    private final int stageAttempt;

    SparkTrainingResult(TrainingResult training, Map<String, INDArray> parameters, int tasks, long bytesSentPerStep,
            long messageBytes, Duration exchangeTime, long resumedFromStep, int stageAttempt) {
        this.training = training;
        this.parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
        this.tasks = tasks;
        this.bytesSentPerStep = bytesSentPerStep;
        this.messageBytes = messageBytes;
        this.exchangeTime = exchangeTime;
        this.resumedFromStep = resumedFromStep;
        this.stageAttempt = stageAttempt;
    }

    /** Task 0's training history ({@link TrainingResult#workers()} is the number of tasks). */
    public TrainingResult training() {
        return training;
    }

    /** The trained values by parameter name. */
    public Map<String, INDArray> parameters() {
        return parameters;
    }

    /** The number of tasks that trained. */
    public int tasks() {
        return tasks;
    }

    /** Bytes all tasks together sent to one another per step (headers and framing included). */
    public long bytesSentPerStep() {
        return bytesSentPerStep;
    }

    /** The length of one task's gradient message: what each task sends each other task per step. */
    public long messageBytes() {
        return messageBytes;
    }

    /** Task 0's time in the gradient exchange (sending, waiting for the others, receiving). */
    public Duration exchangeTime() {
        return exchangeTime;
    }

    /** The checkpoint step the last attempt resumed from, {@code -1} when it started afresh. */
    public long resumedFromStep() {
        return resumedFromStep;
    }

    /** Spark's attempt number of the training stage that succeeded (0 without retries). */
    public int stageAttempt() {
        return stageAttempt;
    }

    /**
     * Assigns the trained values to {@code model}'s parameters of the same names.
     *
     * @throws IllegalArgumentException naming a parameter the model lacks or whose shape differs;
     *     nothing is assigned then
     */
    public void applyTo(Module model) {
        Objects.requireNonNull(model, "model");
        Map<String, Parameter> named = model.namedParameters();
        parameters.forEach((name, value) -> {
            Parameter p = named.get(name);
            if (p == null) {
                throw new IllegalArgumentException("the model has no parameter '" + name + "' to take the trained value;"
                        + " build it as the Spark job's setUp builds its model");
            }
            if (!Arrays.equals(p.shape(), value.shape())) {
                throw new IllegalArgumentException("parameter '" + name + "' has shape " + Arrays.toString(p.shape())
                        + " in the model but " + Arrays.toString(value.shape()) + " in the trained values");
            }
        });
        parameters.forEach((name, value) -> named.get(name).value().assign(value));
    }
}
