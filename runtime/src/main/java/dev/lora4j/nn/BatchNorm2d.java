package dev.lora4j.nn;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import java.util.function.BiConsumer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Batch normalisation per channel of NCHW input, as PyTorch's {@code nn.BatchNorm2d} (affine, with
 * running statistics): a learned scale {@code weight} (ones) and shift {@code bias} (zeros), and
 * the buffers {@code running_mean} (zeros), {@code running_var} (ones) and {@code
 * num_batches_tracked}, saved in checkpoints under PyTorch's names.
 *
 * <p><b>Which statistics.</b> The layer normalises by the batch's own mean and variance, and
 * updates the running statistics ({@code running ← (1 − momentum)·running + momentum·batch}, the
 * variance unbiased), only when it is in training mode <em>and its scale is trainable</em>. In
 * evaluation mode, and whenever its scale is frozen, it normalises by the running statistics and
 * leaves them unchanged, so it acts as a fixed per-channel affine map. A frozen backbone (LoRA
 * fine-tuning, a frozen feature extractor) therefore keeps the statistics it was trained with,
 * even though the trainer puts the model in training mode; this is the usual practice when
 * fine-tuning CNNs and differs from PyTorch, where a frozen BatchNorm in training mode still
 * normalises by batch statistics and updates its buffers. Training the shift alone (e.g. LoRA's
 * {@code bias = "all"}) keeps the statistics frozen too.
 */
public class BatchNorm2d extends Module implements UnaryModule {

    protected final Parameter weight;
    protected final Parameter bias;
    private final INDArray runningMean;
    private final INDArray runningVar;
    private final INDArray batchesTracked;
    private final double epsilon;
    private final double momentum;

    /** Epsilon 1e-5 and momentum 0.1, PyTorch's defaults. */
    public BatchNorm2d(long channels) {
        this(channels, 1e-5, 0.1);
    }

    /** Scale ones, shift zeros, running mean zeros and variance ones. */
    public BatchNorm2d(long channels, double epsilon, double momentum) {
        if (!(epsilon > 0) || !(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException("epsilon must be positive and momentum in [0, 1], got " + epsilon
                    + " and " + momentum);
        }
        this.weight = new Parameter(Nd4j.ones(Init.floatType(), channels));
        this.bias = new Parameter(Nd4j.zeros(Init.floatType(), channels));
        this.runningMean = Nd4j.zeros(Init.floatType(), channels);
        this.runningVar = Nd4j.ones(Init.floatType(), channels);
        this.batchesTracked = Nd4j.scalar(DataType.INT64, 0L);
        this.epsilon = epsilon;
        this.momentum = momentum;
    }

    @Override
    public Tensor forward(Tensor x) {
        boolean batchStatistics = usesBatchStatistics();
        if (batchStatistics) {
            batchesTracked.addi(1);
        }
        return Functional.batchNorm2d(x, weight, bias, runningMean, runningVar, batchStatistics, momentum, epsilon);
    }

    /** Whether the next forward pass normalises by batch statistics (training mode and a trainable scale). */
    public boolean usesBatchStatistics() {
        return isTraining() && weight.isTrainable();
    }

    @Override
    protected void visitDirectBuffers(BiConsumer<String, INDArray> visitor) {
        visitor.accept("running_mean", runningMean);
        visitor.accept("running_var", runningVar);
        visitor.accept("num_batches_tracked", batchesTracked);
    }

    /** The scale γ. */
    public Parameter weight() {
        return weight;
    }

    /** The shift β. */
    public Parameter bias() {
        return bias;
    }

    /** The running mean (the live buffer). */
    public INDArray runningMean() {
        return runningMean;
    }

    /** The running (unbiased) variance (the live buffer). */
    public INDArray runningVar() {
        return runningVar;
    }

    /** The number of batches whose statistics went into the running ones. */
    public long batchesTracked() {
        return batchesTracked.getLong(0);
    }

    @Override
    public String toString() {
        return "BatchNorm2d(" + weight.value().length() + ")";
    }
}
