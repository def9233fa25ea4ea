package dev.lora4j.testing;

import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Deterministic float64 test arrays drawn from {@link java.util.Random} (independent of ND4J's RNG). */
public final class TestArrays {

    private TestArrays() {}

    /** Standard normal values. */
    public static INDArray normal(long seed, long... shape) {
        Random random = new Random(seed);
        double[] values = new double[count(shape)];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextGaussian();
        }
        return of(values, shape);
    }

    /** Uniform values in {@code [low, high)}. */
    public static INDArray uniform(long seed, double low, double high, long... shape) {
        Random random = new Random(seed);
        double[] values = new double[count(shape)];
        for (int i = 0; i < values.length; i++) {
            values[i] = low + (high - low) * random.nextDouble();
        }
        return of(values, shape);
    }

    /**
     * Values with a random sign and magnitude uniform in {@code [minMagnitude, maxMagnitude)}: no
     * element lies near 0, where e.g. ReLU has its kink.
     */
    public static INDArray awayFromZero(long seed, double minMagnitude, double maxMagnitude, long... shape) {
        Random random = new Random(seed);
        double[] values = new double[count(shape)];
        for (int i = 0; i < values.length; i++) {
            double magnitude = minMagnitude + (maxMagnitude - minMagnitude) * random.nextDouble();
            values[i] = random.nextBoolean() ? magnitude : -magnitude;
        }
        return of(values, shape);
    }

    /** A float64 array of the given values in C order. */
    public static INDArray of(double[] values, long... shape) {
        return Nd4j.createFromArray(values).reshape('c', shape).castTo(DataType.DOUBLE);
    }

    private static int count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return Math.toIntExact(n);
    }
}
