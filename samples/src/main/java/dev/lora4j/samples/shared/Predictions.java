package dev.lora4j.samples.shared;

import org.nd4j.linalg.api.ndarray.INDArray;

/** Scores of classification logits {@code [examples, classes]}, by arg-max. */
public final class Predictions {

    private Predictions() {}

    /** The share of rows whose arg-max is the label. */
    public static double accuracy(INDArray logits, int[] labels) {
        long[] predicted = logits.argMax(1).toLongVector();
        int right = 0;
        for (int i = 0; i < labels.length; i++) {
            right += predicted[i] == labels[i] ? 1 : 0;
        }
        return (double) right / labels.length;
    }

    /** The share of rows whose arg-max is the same in both (e.g. merged against unmerged). */
    public static double agreement(INDArray a, INDArray b) {
        long[] x = a.argMax(1).toLongVector();
        long[] y = b.argMax(1).toLongVector();
        int same = 0;
        for (int i = 0; i < x.length; i++) {
            same += x[i] == y[i] ? 1 : 0;
        }
        return (double) same / x.length;
    }
}
