package dev.lora4j.guice;

import com.google.inject.AbstractModule;
import com.google.inject.multibindings.Multibinder;
import dev.lora4j.api.TrainingListener;
import dev.lora4j.train.ConsoleProgress;
import dev.lora4j.train.OptimizerFactory;
import dev.lora4j.train.ScheduleFactory;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingConfig;

/**
 * Training defaults, each replaceable with {@code Modules.override} (as {@link Lora4j#injector}
 * does):
 * <ul>
 *   <li>{@link TrainingConfig}: {@link TrainingConfig#defaults()};</li>
 *   <li>{@link OptimizerFactory}: AdamW, no weight decay (the Hugging Face {@code Trainer} and PEFT
 *       default), biases and 1-D parameters in an undecayed group anyway;</li>
 *   <li>{@link ScheduleFactory}: linear warmup then linear decay;</li>
 *   <li>a {@link Multibinder} of {@link TrainingListener}s holding {@link ConsoleProgress}; add your
 *       own with {@code Multibinder.newSetBinder(binder(), TrainingListener.class).addBinding()},
 *       or silence or redirect the console by rebinding {@code ConsoleProgress};</li>
 *   <li>{@link Trainer}.</li>
 * </ul>
 */
public final class TrainingModule extends AbstractModule {

    /** The default weight decay of the bound AdamW. */
    public static final double DEFAULT_WEIGHT_DECAY = 0.0;

    @Override
    protected void configure() {
        bind(TrainingConfig.class).toInstance(TrainingConfig.defaults());
        bind(OptimizerFactory.class).toInstance(OptimizerFactory.adamW(DEFAULT_WEIGHT_DECAY));
        bind(ScheduleFactory.class).toInstance(ScheduleFactory.LINEAR);
        bind(ConsoleProgress.class);
        Multibinder.newSetBinder(binder(), TrainingListener.class).addBinding().to(ConsoleProgress.class);
        bind(Trainer.class);
    }
}
