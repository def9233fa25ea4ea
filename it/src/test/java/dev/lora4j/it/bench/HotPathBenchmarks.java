package dev.lora4j.it.bench;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.CheckpointableRandom;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The hot-path changes measured against what they replaced, side by side: each row runs the
 * runtime's op (A) against the previous implementation, kept here as the reference (B), on a
 * MiniLM-sized activation.
 */
public final class HotPathBenchmarks {

    private HotPathBenchmarks() {}

    /**
     * Dropout (p = 0.1, a MiniLM hidden state {@code [batch, time, 384]}, float32, drawing from a
     * {@link CheckpointableRandom} as the model's dropout layers do): {@code Functional.dropout}
     * ÷ the previous per-element version. Both make the same mask from the same seed.
     */
    @SuppressWarnings("try")
    public static SideBySide.Result dropout(int batch, int time, int rounds) {
        Tensor x = Tensor.constant(Nd4j.rand(DataType.FLOAT, batch, time, 384));
        Random current = new CheckpointableRandom(1);
        Random previous = new CheckpointableRandom(1);
        try (GradMode.Scope ignored = GradMode.disable()) {
            return SideBySide.compare(String.format("dropout forward [%d, %d, 384] float32: Functional.dropout / "
                            + "the per-element version it replaced", batch, time),
                    () -> Functional.dropout(x, 0.1, current), () -> previousDropout(x.value(), 0.1, previous),
                    Math.max(3, rounds / 5), rounds, 5);
        }
    }

    /** The dropout forward as it was: a per-element {@code nextDouble()}, a double mask cast to the type. */
    static INDArray previousDropout(INDArray x, double p, Random random) {
        long n = x.length();
        double keepScale = 1.0 / (1.0 - p);
        double[] maskValues = new double[Math.toIntExact(n)];
        for (int i = 0; i < maskValues.length; i++) {
            maskValues[i] = random.nextDouble() >= p ? keepScale : 0.0;
        }
        INDArray mask = Nd4j.createFromArray(maskValues).castTo(x.dataType()).reshape(x.shape());
        return x.mul(mask);
    }
}
