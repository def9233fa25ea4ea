package dev.lora4j.guice;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyDouble;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;

import com.google.inject.AbstractModule;
import com.google.inject.Binding;
import com.google.inject.Injector;
import com.google.inject.Key;
import com.google.inject.TypeLiteral;
import com.google.inject.multibindings.Multibinder;
import com.google.inject.spi.Element;
import com.google.inject.spi.Elements;
import com.google.inject.spi.InstanceBinding;
import dev.lora4j.api.TrainingListener;
import dev.lora4j.api.TrainingListener.StepReport;
import dev.lora4j.api.TrainingListener.TrainingEnd;
import dev.lora4j.api.TrainingListener.TrainingStart;
import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Linear;
import dev.lora4j.train.AdamW;
import dev.lora4j.train.ConsoleProgress;
import dev.lora4j.train.Optimizer;
import dev.lora4j.train.OptimizerFactory;
import dev.lora4j.train.ScheduleFactory;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingResult;
import dev.lora4j.train.TrainingTask;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.mockito.InOrder;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class TrainingModuleTest {

    private final ByteArrayOutputStream console = new ByteArrayOutputStream();

    /** Keeps test output quiet: the default console listener writes into a buffer. */
    private final AbstractModule quietConsole = new AbstractModule() {
        @Override
        protected void configure() {
            bind(ConsoleProgress.class).toInstance(new ConsoleProgress(ConsoleProgress.Mode.LINES, Duration.ZERO,
                    new PrintStream(console, true, StandardCharsets.UTF_8)));
            bind(TrainingConfig.class).toInstance(TrainingConfig.builder().epochs(2).learningRate(0.01).build());
        }
    };

    private static final Linear MODEL = new Linear(2, 1, true, new Random(1));
    private static final List<INDArray> BATCHES = List.of(
            Nd4j.rand(DataType.FLOAT, 4, 2), Nd4j.rand(DataType.FLOAT, 4, 2), Nd4j.rand(DataType.FLOAT, 4, 2));
    private static final TrainingTask<INDArray> TASK = TrainingTask.of(
            x -> Functional.mse(MODEL.forward(Tensor.constant(x)), Tensor.constant(Nd4j.zeros(DataType.FLOAT, 4, 1))),
            x -> (int) x.size(0));

    @Test
    void listsItsBindingsWithoutAnInjector() {
        List<Element> elements = Elements.getElements(new TrainingModule());
        Set<Key<?>> keys = new HashSet<>();
        for (Element e : elements) {
            if (e instanceof Binding<?> b) {
                keys.add(b.getKey());
            }
        }
        assertTrue(keys.containsAll(List.of(
                Key.get(TrainingConfig.class),
                Key.get(OptimizerFactory.class),
                Key.get(ScheduleFactory.class),
                Key.get(ConsoleProgress.class),
                Key.get(Trainer.class),
                Key.get(new TypeLiteral<Set<TrainingListener>>() {}))), keys.toString());

        InstanceBinding<?> optimizers = elements.stream()
                .filter(e -> e instanceof InstanceBinding<?> b && b.getKey().equals(Key.get(OptimizerFactory.class)))
                .map(e -> (InstanceBinding<?>) e).findFirst().orElseThrow();
        Optimizer byDefault = ((OptimizerFactory) optimizers.getInstance()).create(new Linear(2, 2));
        assertInstanceOf(AdamW.class, byDefault);
    }

    @Test
    void defaultsBuildATrainer() {
        Injector injector = Lora4j.injector(quietConsole);
        Trainer trainer = injector.getInstance(Trainer.class);
        assertEquals(2, trainer.config().epochs());
        assertSame(ScheduleFactory.LINEAR, injector.getInstance(ScheduleFactory.class));
    }

    @Test
    void aTrainerWithGivenListenersHasOnlyThoseAndTheDefaultOptimizer() {
        TrainingListener listener = mock(TrainingListener.class);
        Trainer trainer = Lora4j.injector().getInstance(Trainer.class)
                .withConfig(TrainingConfig.builder().epochs(1).build()).withListeners(List.of(listener));
        TrainingResult result;
        PrintStream err = System.err;
        try {
            System.setErr(new PrintStream(console, true, StandardCharsets.UTF_8));
            result = trainer.fit(MODEL, BATCHES, TASK);
        } finally {
            System.setErr(err);
        }
        assertEquals(3, result.steps());
        verify(listener, times(3)).onStep(any(StepReport.class));
        assertEquals(0, console.size(), "no console progress (it writes to stderr): " + console.toString(StandardCharsets.UTF_8));
        assertInstanceOf(AdamW.class, Lora4j.injector().getInstance(OptimizerFactory.class).create(MODEL));
    }

    @Test
    void userOptimizerReplacesTheDefault() {
        Optimizer optimizer = mock(Optimizer.class);
        Injector injector = Lora4j.injector(quietConsole, new AbstractModule() {
            @Override
            protected void configure() {
                bind(OptimizerFactory.class).toInstance(model -> optimizer);
            }
        });

        TrainingResult result = injector.getInstance(Trainer.class).fit(MODEL, BATCHES, TASK);

        assertEquals(6, result.steps());
        verify(optimizer, times(6)).step(anyDouble());
        verify(optimizer, times(6)).zeroGrad();
    }

    @Test
    void userListenerJoinsTheConsole() {
        TrainingListener listener = mock(TrainingListener.class);
        Injector injector = Lora4j.injector(quietConsole, new AbstractModule() {
            @Override
            protected void configure() {
                Multibinder.newSetBinder(binder(), TrainingListener.class).addBinding().toInstance(listener);
            }
        });

        injector.getInstance(Trainer.class).fit(MODEL, BATCHES, TASK);

        InOrder order = inOrder(listener);
        order.verify(listener).onStart(any(TrainingStart.class));
        order.verify(listener, times(6)).onStep(any(StepReport.class));
        order.verify(listener).onFinish(any(TrainingEnd.class));
        String printed = console.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("step 6/6"), "the default console listener still runs: " + printed);
    }
}
