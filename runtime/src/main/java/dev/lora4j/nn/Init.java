package dev.lora4j.nn;

import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Weight initialisation. New layers draw from one process-wide generator, which
 * {@link #seed(long)} resets so that a run is repeatable; each method also takes an explicit
 * generator. Arrays use ND4J's default floating-point type (float32 unless changed).
 */
public final class Init {

    private static CheckpointableRandom shared = new CheckpointableRandom(42);

    private Init() {}

    /** Reseeds the generator new layers draw from. */
    public static synchronized void seed(long seed) {
        shared = new CheckpointableRandom(seed);
    }

    /** The generator new layers (and dropout, by default) draw from; its state can be checkpointed. */
    public static synchronized CheckpointableRandom random() {
        return shared;
    }

    /** The default floating-point type for new weights. */
    public static DataType floatType() {
        return Nd4j.defaultFloatingPointType();
    }

    /** Uniform in {@code [-bound, bound)}. */
    public static INDArray uniform(Random random, double bound, long... shape) {
        double[] values = new double[Math.toIntExact(count(shape))];
        for (int i = 0; i < values.length; i++) {
            values[i] = (2 * random.nextDouble() - 1) * bound;
        }
        return create(values, shape);
    }

    /** Gaussian with mean 0. */
    public static INDArray normal(Random random, double std, long... shape) {
        double[] values = new double[Math.toIntExact(count(shape))];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextGaussian() * std;
        }
        return create(values, shape);
    }

    /**
     * Kaiming-uniform with {@code a = √5}, PyTorch's default for linear weights: uniform in
     * {@code ±1/√fanIn}.
     */
    public static INDArray kaimingUniform(Random random, long fanIn, long... shape) {
        return uniform(random, 1.0 / Math.sqrt(fanIn), shape);
    }

    private static long count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    private static INDArray create(double[] values, long[] shape) {
        return Nd4j.createFromArray(values).castTo(floatType()).reshape('c', shape);
    }
}
