package dev.lora4j.pipeline;

import dev.lora4j.lora.AdapterFactory;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.MergeStrategy;
import dev.lora4j.nn.Module;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingResult;
import dev.lora4j.train.TrainingTask;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * A LoRA fine-tune in three calls, each part replaceable through Guice: adapters from the bound
 * {@link AdapterFactory}, training by the bound {@link Trainer}, merging by the bound
 * {@link MergeStrategy}.
 *
 * <pre>{@code
 * FineTuning fineTuning = Lora4j.injector().getInstance(FineTuning.class);
 * FineTuning.Outcome<MyModel> outcome = fineTuning.run(new MyModel(), config, train, validation,
 *         model -> TrainingTask.of(batch -> loss(model, batch), Batch::size));
 * fineTuning.merge(outcome.lora());
 * }</pre>
 */
public final class FineTuning {

    private final AdapterFactory adapters;
    private final Trainer trainer;
    private final MergeStrategy merger;

    /** A fine-tuning pipeline over the given parts. */
    @Inject
    public FineTuning(AdapterFactory adapters, Trainer trainer, MergeStrategy merger) {
        this.adapters = Objects.requireNonNull(adapters, "adapters");
        this.trainer = Objects.requireNonNull(trainer, "trainer");
        this.merger = Objects.requireNonNull(merger, "merger");
    }

    /**
     * Puts adapters on {@code model} as {@code config} says, then trains them.
     *
     * @param task builds the loss (and metrics) from the adapted model
     */
    public <M extends Module, B> Outcome<M> run(M model, LoraConfig config, List<B> training, List<B> validation,
            Function<M, TrainingTask<B>> task) {
        LoraModel<M> lora = adapters.wrap(model, config);
        TrainingResult result = trainer.fit(lora.model(), training, validation, task.apply(lora.model()));
        return new Outcome<>(lora, result);
    }

    /** Merges the active adapters with the bound strategy. */
    public void merge(LoraModel<?> lora) {
        merger.merge(lora);
    }

    /** The trainer in use. */
    public Trainer trainer() {
        return trainer;
    }

    /**
     * What a run produced.
     *
     * @param lora the adapted model
     * @param training the training history
     */
    public record Outcome<M extends Module>(LoraModel<M> lora, TrainingResult training) {}
}
