package dev.lora4j.guice;

import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Module;
import com.google.inject.util.Modules;
import dev.lora4j.api.TrainingListener;
import dev.lora4j.train.OptimizerFactory;
import dev.lora4j.train.ScheduleFactory;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingConfig;
import java.util.LinkedHashSet;
import java.util.List;

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
 * }</pre>
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

    /**
     * A {@link Trainer} with the default optimizer and schedules (as bound by {@link
     * TrainingModule}), {@code config}, and exactly {@code listeners} in place of the default
     * console progress.
     */
    public static Trainer trainer(TrainingConfig config, TrainingListener... listeners) {
        Injector injector = injector();
        return new Trainer(config, injector.getInstance(OptimizerFactory.class),
                injector.getInstance(ScheduleFactory.class), new LinkedHashSet<>(List.of(listeners)));
    }
}
