package dev.lora4j.pipeline.internal;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Module;
import dev.lora4j.train.Inference;
import dev.lora4j.train.TrainingConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A model's logits over a split with their targets, one row per example (or per position, for
 * logits {@code [examples, ..., classes]}); rows whose target is negative are not scored.
 *
 * @param logits {@code [rows, classes]}
 * @param labels the target of each row
 */
public record Classifications(INDArray logits, int[] labels) {

    /**
     * {@code forward}'s logits of every batch, in order, in evaluation mode over one worker per core
     * ({@link Inference}).
     */
    public static <B> Classifications of(Module model, List<B> batches, Function<B, Tensor> forward,
            Function<B, int[]> labels) {
        List<INDArray> parts = Inference.outputs(model, batches, forward, TrainingConfig.AUTO_WORKERS);
        List<INDArray> rows = new ArrayList<>();
        for (INDArray part : parts) {
            rows.add(part.rank() == 2 ? part : part.reshape(-1, part.size(-1)));
        }
        int[] targets = batches.stream().flatMapToInt(b -> java.util.Arrays.stream(labels.apply(b))).toArray();
        INDArray logits = rows.size() == 1 ? rows.get(0) : Nd4j.vstack(rows.toArray(INDArray[]::new));
        if (logits.rows() != targets.length) {
            throw new IllegalStateException("the job gives " + targets.length + " labels for " + logits.rows()
                    + " rows of logits");
        }
        return new Classifications(logits, targets);
    }

    /** The rows with a target. */
    public int counted() {
        int n = 0;
        for (int label : labels) {
            n += label >= 0 ? 1 : 0;
        }
        return n;
    }

    /** The share of rows with a target whose arg-max is that target. */
    public double accuracy() {
        long[] predicted = logits.argMax(1).toLongVector();
        int right = 0;
        for (int i = 0; i < labels.length; i++) {
            right += labels[i] >= 0 && predicted[i] == labels[i] ? 1 : 0;
        }
        return (double) right / counted();
    }

    /** The share of rows with a target predicted the same here and in {@code other} (e.g. merged). */
    public double agreement(Classifications other) {
        long[] x = logits.argMax(1).toLongVector();
        long[] y = other.logits.argMax(1).toLongVector();
        int same = 0;
        for (int i = 0; i < labels.length; i++) {
            same += labels[i] >= 0 && x[i] == y[i] ? 1 : 0;
        }
        return (double) same / counted();
    }

    /** The largest absolute difference of the logits from {@code other}'s. */
    public double maxAbsDiff(Classifications other) {
        return logits.sub(other.logits).amaxNumber().doubleValue();
    }
}
