package dev.lora4j.train;

import dev.lora4j.autograd.Tensor;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.ToIntFunction;
import org.jspecify.annotations.Nullable;

/**
 * What the {@link Trainer} needs to know about the user's batches: how to compute the loss of one
 * (with the model's own forward code), how many examples it holds, and optionally how to classify
 * it (for accuracy) and extra metrics. Immutable; the {@code with…} methods return copies.
 *
 * <pre>{@code
 * TrainingTask<Batch> task = TrainingTask.<Batch>of(
 *         b -> Functional.mse(model.forward(b.x()), b.y()),
 *         b -> b.size())
 *     .withPredictor(b -> new Predictor.Prediction(model.forward(b.x()).value(), b.labels()));
 * }</pre>
 *
 * @param <B> the batch type
 */
public final class TrainingTask<B> {

    private final Function<B, Tensor> loss;
    private final ToIntFunction<B> batchSize;
    private final @Nullable Predictor<B> predictor;
    private final @Nullable Evaluator<B> evaluator;
    private final @Nullable BatchSlicer<B> slicer;

    private TrainingTask(Function<B, Tensor> loss, ToIntFunction<B> batchSize, @Nullable Predictor<B> predictor,
            @Nullable Evaluator<B> evaluator, @Nullable BatchSlicer<B> slicer) {
        this.loss = Objects.requireNonNull(loss, "loss");
        this.batchSize = Objects.requireNonNull(batchSize, "batchSize");
        this.predictor = predictor;
        this.evaluator = evaluator;
        this.slicer = slicer;
    }

    /**
     * A task.
     *
     * @param loss the scalar loss of a batch, a mean over its examples (the validation loss is the
     *     batch-size-weighted mean of these). It runs in a training step's memory: every array it
     *     creates is freed when the step ends, so it must not keep one for later (update a model's
     *     own arrays in place, as {@code BatchNorm} does its running statistics)
     * @param batchSize the number of examples in a batch, for examples/s and the validation mean
     */
    public static <B> TrainingTask<B> of(Function<B, Tensor> loss, ToIntFunction<B> batchSize) {
        return new TrainingTask<>(loss, batchSize, null, null, null);
    }

    /** This task, reporting validation accuracy from {@code predictor}. */
    public TrainingTask<B> withPredictor(Predictor<B> predictor) {
        return new TrainingTask<>(loss, batchSize, Objects.requireNonNull(predictor, "predictor"), evaluator, slicer);
    }

    /** This task, reporting {@code evaluator}'s metrics too. */
    public TrainingTask<B> withEvaluator(Evaluator<B> evaluator) {
        return new TrainingTask<>(loss, batchSize, predictor, Objects.requireNonNull(evaluator, "evaluator"), slicer);
    }

    /**
     * This task, able to split a batch by example, which data-parallel training needs ({@link
     * TrainingConfig.Builder#workers}). The loss must then be a mean over the batch's examples:
     * each shard's loss is weighted by its share of the examples.
     */
    public TrainingTask<B> withSlicer(BatchSlicer<B> slicer) {
        return new TrainingTask<>(loss, batchSize, predictor, evaluator, Objects.requireNonNull(slicer, "slicer"));
    }

    /** The loss of one batch. */
    public Tensor loss(B batch) {
        return loss.apply(batch);
    }

    /** The number of examples in a batch. */
    public int batchSize(B batch) {
        return batchSize.applyAsInt(batch);
    }

    /** The predictor, or {@code null}. */
    public @Nullable Predictor<B> predictor() {
        return predictor;
    }

    /** The extra-metric evaluator, or {@code null}. */
    public @Nullable Evaluator<B> evaluator() {
        return evaluator;
    }

    /** The batch slicer, or {@code null}. */
    public @Nullable BatchSlicer<B> slicer() {
        return slicer;
    }
}
