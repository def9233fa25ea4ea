package dev.lora4j.pipeline;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.io.AdapterSaveOptions;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Module;
import dev.lora4j.train.BatchSlicer;
import dev.lora4j.train.Predictor;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingResult;
import dev.lora4j.train.TrainingTask;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What is specific to one fine-tune of one classifier on one dataset: how to build the pretrained
 * model, which module is its new head, the data, and the logits of a batch. The {@link
 * FineTuneRunner} does the rest the same way for every job: adapters (or the head alone, or every
 * weight) as the options say, training with progress, test accuracy, the adapter saved in PEFT's
 * layout, merged and compared with the unmerged model, curves and a report.
 *
 * <p>Jobs are found with {@link java.util.ServiceLoader} (list the class in {@code
 * META-INF/services/dev.lora4j.pipeline.FineTuneJob}, with a public no-argument constructor);
 * {@link FineTuneJobs} looks them up by name for {@code lora4j finetune --model <name>} and {@code
 * LoraDsl.finetune}.
 *
 * @param <M> the model
 * @param <B> a batch of examples
 */
public interface FineTuneJob<M extends Module, B> {

    /** The name that selects this job, e.g. {@code minilm-genres}: lower case, digits and dashes. */
    String name();

    /** One line on the model and the data. */
    String description();

    /**
     * The job's settings for {@code mode} when the user changes nothing (the learning rate, for one,
     * usually depends on the mode).
     */
    FineTuneOptions defaults(FineTuneMode mode);

    /**
     * The job-specific parameters it accepts in {@link FineTuneOptions#parameters()}, name to a
     * one-line description; any other name is an error.
     */
    default Map<String, String> parameters() {
        return Map.of();
    }

    /**
     * Checks the values of the job's parameters, before anything loads.
     *
     * @throws IllegalArgumentException naming a parameter and its bad value
     */
    default void check(FineTuneOptions options) {}

    /**
     * The pretrained model with its new head, without adapters. The runner seeds {@link
     * dev.lora4j.nn.Init} with the options' seed first and, when the options put adapters on
     * through the agent, installs the agent first, so that {@code @LoRA} fields get their adapters
     * as the model is constructed.
     *
     * @throws IOException when the weights cannot be read
     */
    M model(FineTuneContext context) throws IOException;

    /**
     * The modules that train in full next to the adapters, and alone in {@link
     * FineTuneMode#HEAD_ONLY} (PEFT's {@code modules_to_save}): usually the new classification head.
     */
    List<String> head();

    /**
     * The training, validation and test batches.
     *
     * @throws IOException when the data cannot be read
     */
    FineTuneData<B> data(FineTuneOptions options) throws IOException;

    /**
     * The logits of {@code batch}, {@code [examples, classes]} or {@code [examples, ..., classes]}:
     * the loss is their cross-entropy with {@link #labels}, the predicted class their arg-max.
     */
    Tensor logits(M model, B batch);

    /** The target class of each row of the logits, in order; negative targets are ignored. */
    int[] labels(B batch);

    /** The examples in {@code batch} (the weight of its loss in an epoch's mean). */
    int size(B batch);

    /**
     * Cuts a batch into shards for data-parallel workers; {@code null}: batches are not split (one
     * per worker).
     */
    default @Nullable BatchSlicer<B> slicer() {
        return null;
    }

    /**
     * The loss and metrics of {@code model}: the cross-entropy of its {@linkplain #logits logits}
     * with the {@linkplain #labels labels} (negative labels ignored), accuracy by their arg-max, the
     * batches cut by the {@linkplain #slicer slicer}.
     */
    default TrainingTask<B> task(M model) {
        CrossEntropyLoss crossEntropy = new CrossEntropyLoss();
        TrainingTask<B> task = TrainingTask.<B>of(b -> crossEntropy.compute(logits(model, b), labels(b)), this::size)
                .withPredictor(b -> new Predictor.Prediction(logits(model, b).value(), labels(b)));
        BatchSlicer<B> slicer = slicer();
        return slicer == null ? task : task.withSlicer(slicer);
    }

    /** How to train: epochs, learning rate and schedule, validation, early stopping. */
    TrainingConfig training(FineTuneOptions options, int trainBatches);

    /**
     * Trains the model; the default fits it with {@code trainer}. A job that can train elsewhere
     * (e.g. on Apache Spark, {@link FineTuneOptions#spark()}) overrides this, leaving the trained
     * values in {@code model}.
     */
    default TrainingResult train(FineTuneContext context, M model, FineTuneData<B> data, TrainingTask<B> task,
            Trainer trainer) {
        return trainer.fit(model, data.train(), data.validation(), task);
    }

    /** How the adapter is saved, e.g. with the base model's name for {@code adapter_config.json}. */
    default AdapterSaveOptions saveOptions() {
        return AdapterSaveOptions.defaults();
    }

    /**
     * The safetensors checkpoint the pretrained weights come from, when there is one: the runner
     * then also merges the saved adapter into a copy of it without a model ({@link
     * dev.lora4j.io.CheckpointMerger}) and checks that a model {@linkplain #model built} afresh and
     * loaded from that copy gives the adapted model's logits.
     */
    default @Nullable Path checkpoint(FineTuneContext context) {
        return null;
    }
}
