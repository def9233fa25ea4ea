package dev.lora4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.spy;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;

import com.google.inject.AbstractModule;
import com.google.inject.Key;
import com.google.inject.spi.Element;
import com.google.inject.spi.Elements;
import com.google.inject.spi.InstanceBinding;
import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.guice.AdapterModule;
import dev.lora4j.guice.Lora4j;
import dev.lora4j.guice.MergingModule;
import dev.lora4j.lora.AdapterFactory;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.MergeStrategy;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.train.ConsoleProgress;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingTask;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class FineTuningWiringTest {

    static final class Regressor extends Module {
        final Linear hidden = new Linear(4, 8, true, new Random(1));
        final Linear out = new Linear(8, 1, true, new Random(2));

        Tensor forward(Tensor x) {
            return out.forward(hidden.forward(x).tanh());
        }
    }

    private static final INDArray X = Nd4j.rand(DataType.FLOAT, 32, 4);
    private static final INDArray Y = X.sum(true, 1).muli(0.5);

    private final AbstractModule quietAndShort = new AbstractModule() {
        @Override
        protected void configure() {
            bind(TrainingConfig.class).toInstance(TrainingConfig.builder().epochs(10).maxSteps(5).learningRate(1e-2).build());
            bind(ConsoleProgress.class).toInstance(new ConsoleProgress(ConsoleProgress.Mode.LINES, ConsoleProgress.DEFAULT_LINE_INTERVAL,
                    new PrintStream(OutputStream.nullOutputStream())));
        }
    };

    private static <T> T instanceBound(com.google.inject.Module module, Class<T> type) {
        for (Element element : Elements.getElements(module)) {
            if (element instanceof InstanceBinding<?> binding && binding.getKey().equals(Key.get(type))) {
                return type.cast(binding.getInstance());
            }
        }
        throw new AssertionError(type.getSimpleName() + " is not bound by " + module.getClass().getSimpleName());
    }

    @Test
    void adapterAndMergingModulesBindTheirDefaultsWithoutAnInjector() {
        AdapterFactory factory = instanceBound(new AdapterModule(), AdapterFactory.class);
        LoraModel<Regressor> lora = factory.wrap(new Regressor(), LoraConfig.builder().rank(2).targetModules("hidden").build());
        assertEquals(List.of("hidden"), List.copyOf(lora.layers().keySet()));
        MergeStrategy merge = instanceBound(new MergingModule(), MergeStrategy.class);
        lora.layers().get("hidden").adapter("default").b().value().assign(Double.NaN);
        IllegalStateException refused = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> merge.merge(lora));
        assertTrue(refused.getMessage().contains("safe merge refused"), "the default merge is the safe one");
    }

    @Test
    void userBindingsReplaceTheAdapterFactoryAndMergeStrategy() {
        AdapterFactory spyFactory = spy(AdapterFactory.standard());
        MergeStrategy mockMerge = mock(MergeStrategy.class);
        FineTuning fineTuning = Lora4j.injector(quietAndShort, new AbstractModule() {
            @Override
            protected void configure() {
                bind(AdapterFactory.class).toInstance(spyFactory);
                bind(MergeStrategy.class).toInstance(mockMerge);
            }
        }).getInstance(FineTuning.class);
        LoraConfig config = LoraConfig.builder().rank(2).targetModules("hidden").build();
        FineTuning.Outcome<Regressor> outcome = fineTuning.run(new Regressor(), config, List.of(X), List.of(),
                model -> TrainingTask.of(x -> Functional.mse(model.forward(Tensor.constant(x)), Tensor.constant(Y)),
                        x -> (int) x.size(0)));
        verify(spyFactory, times(1)).wrap(any(Regressor.class), any(LoraConfig.class));
        assertEquals(5, outcome.training().steps());
        fineTuning.merge(outcome.lora());
        verify(mockMerge, times(1)).merge(outcome.lora());
        assertTrue(outcome.lora().layers().get("hidden").merged().isEmpty(), "the user's strategy replaced the merge");
    }
}
