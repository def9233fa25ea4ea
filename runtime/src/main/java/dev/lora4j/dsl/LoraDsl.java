package dev.lora4j.dsl;

import dev.lora4j.Lora;
import dev.lora4j.api.Configure;
import dev.lora4j.guice.Lora4j;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Module;
import dev.lora4j.pipeline.FineTuneJob;
import dev.lora4j.pipeline.FineTuneJobs;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.pipeline.FineTuneRunner;
import dev.lora4j.pipeline.FineTuneReport;
import dev.lora4j.train.TrainingResult;
import java.io.IOException;
import java.util.List;
import java.util.Objects;

/**
 * lora4j as a small DSL: adapters ({@link #lora}), configs ({@link #loraConfig}), training
 * ({@link #train}) and whole fine-tuning jobs ({@link #finetune}) set up in {@link Configure} blocks. Static methods, so Kotlin imports them by name
 * ({@code import dev.lora4j.dsl.LoraDsl.lora}) and Java calls them as {@code LoraDsl.lora(...)}.
 *
 * <h2>Kotlin</h2>
 *
 * <pre>{@code
 * import dev.lora4j.dsl.LoraDsl.lora
 * import dev.lora4j.dsl.LoraDsl.train
 *
 * val lora = lora(MyModel()) { rank = 8; alpha = 16.0; targets("query", "value") }
 * val result = train(lora.model(), batches) {
 *     epochs = 3
 *     learningRate = 1e-3
 *     loss { batch -> lossOf(lora.model(), batch) }
 * }
 * lora.merge()
 * }</pre>
 *
 * <p>Blocks are lambdas with receiver when Kotlin's {@code sam-with-receiver} compiler plugin knows
 * the annotation {@link dev.lora4j.api.ImplicitReceiver} (see there for the Maven and Gradle
 * lines); without the plugin, write {@code it.rank = 8}. No Kotlin artifact is needed: the DSL is
 * these Java classes.
 *
 * <h2>Java</h2>
 *
 * <pre>{@code
 * LoraModel<MyModel> lora = LoraDsl.lora(new MyModel(), spec -> {
 *     spec.setRank(8);
 *     spec.setAlpha(16.0);
 *     spec.targets("query", "value");
 * });
 * TrainingResult result = LoraDsl.train(lora.model(), batches, spec -> {
 *     spec.setEpochs(3);
 *     spec.loss(batch -> lossOf(lora.model(), batch));
 * });
 * }</pre>
 */
public final class LoraDsl {

    private LoraDsl() {}

    /**
     * Adapters on the {@code @LoRA} fields of {@code model} (Kotlin: {@code @field:LoRA}): {@link
     * Lora#inject}, which also takes over adapters the agent attached at construction.
     *
     * @throws IllegalArgumentException when the model carries no {@code @LoRA} field
     */
    public static <M extends Module> LoraModel<M> lora(M model) {
        return Lora.inject(model);
    }

    /**
     * Adapters where the block's targets say: {@link Lora#wrap} with the block's config (base
     * frozen, adapter {@code default}).
     *
     * @throws IllegalArgumentException for an invalid config, or targets that match no module (the
     *     message lists the module paths)
     */
    public static <M extends Module> LoraModel<M> lora(M model, Configure<LoraSpec> configure) {
        return Lora.wrap(model, loraConfig(configure));
    }

    /**
     * A {@link LoraConfig} from a block, e.g. for {@code LoraModel.addAdapter} or {@code
     * LoraAgent.install(config, classNames)}.
     *
     * @throws IllegalArgumentException naming the invalid field
     */
    public static LoraConfig loraConfig(Configure<LoraSpec> configure) {
        LoraSpec spec = new LoraSpec();
        Objects.requireNonNull(configure, "configure").configure(spec);
        return spec.toConfig();
    }

    /**
     * Trains the trainable parameters of {@code model} on {@code batches} as the block says; the
     * block must set the {@link TrainingSpec#loss loss}. See {@link dev.lora4j.train.Trainer#fit}:
     * the model is left in evaluation mode.
     *
     * @param batches one epoch's batches
     * @throws IllegalArgumentException naming an invalid setting
     * @throws IllegalStateException when the block sets no loss, or the model has nothing trainable
     */
    public static <B> TrainingResult train(Module model, List<B> batches, Configure<TrainingSpec<B>> configure) {
        TrainingSpec<B> spec = new TrainingSpec<>();
        Objects.requireNonNull(configure, "configure").configure(spec);
        return spec.toTrainer().fit(model, batches, spec.getValidation(), spec.toTask());
    }

    /**
     * Runs the fine-tuning job called {@code job} (a {@link FineTuneJob} on the class path, e.g.
     * {@code minilm-genres} from the samples) with the block's changes to its defaults: the same
     * run as {@code lora4j finetune --model <job>}.
     *
     * <pre>{@code
     * val report = finetune("minilm-genres") { rank = 4; epochs = 1 }
     * println(report.table())
     * }</pre>
     *
     * @throws IllegalArgumentException for an unknown job (the message lists the available ones),
     *     an invalid setting, or a parameter the job does not know
     * @throws IOException when the job cannot read its data or write its outputs
     */
    public static FineTuneReport finetune(String job, Configure<FineTuneSpec> configure) throws IOException {
        FineTuneSpec spec = new FineTuneSpec();
        Objects.requireNonNull(configure, "configure").configure(spec);
        FineTuneJob<?, ?> found = FineTuneJobs.named(job);
        FineTuneOptions options = spec.toOptions(found);
        return Lora4j.injector(spec.getOverrides().toArray(com.google.inject.Module[]::new))
                .getInstance(FineTuneRunner.class).run(found, options, spec.getOut());
    }
}
