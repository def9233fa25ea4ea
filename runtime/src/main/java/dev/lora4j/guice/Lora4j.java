package dev.lora4j.guice;

import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Module;
import com.google.inject.util.Modules;
import dev.lora4j.train.Trainer;

/**
 * The entry point for dependency injection: an injector with lora4j's default modules, each
 * binding replaceable by the caller's modules.
 *
 * <pre>{@code
 * Injector injector = Lora4j.injector(new AbstractModule() {
 *     protected void configure() {
 *         bind(TrainingConfig.class).toInstance(TrainingConfig.builder().epochs(3).build());
 *         bind(OptimizerFactory.class).toInstance(OptimizerFactory.adamWLoraPlus(0.01, 16));
 *     }
 * });
 * Trainer trainer = injector.getInstance(Trainer.class);
 * FineTuneReport report = injector.getInstance(FineTuneRunner.class).run(job, options, System.out);
 * }</pre>
 *
 * <p>The {@code finetune} command and {@code LoraDsl.finetune} run jobs through {@link
 * dev.lora4j.pipeline.FineTuneRunner} from such an injector, so a replaced binding (optimizer,
 * schedule, listeners, adapter factory, merge strategy) changes what they do.
 */
public final class Lora4j {

    private Lora4j() {}

    /** The default modules: {@link TrainingModule}, {@link AdapterModule}, {@link MergingModule}. */
    public static Module defaults() {
        return Modules.combine(new TrainingModule(), new AdapterModule(), new MergingModule());
    }

    /** {@code Guice.createInjector(Modules.override(defaults()).with(overrides))}. */
    public static Injector injector(Module... overrides) {
        return Guice.createInjector(Modules.override(defaults()).with(overrides));
    }
}
