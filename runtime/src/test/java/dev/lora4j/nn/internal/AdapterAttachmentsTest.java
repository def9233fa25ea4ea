package dev.lora4j.nn.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.AdaptableLayer;
import dev.lora4j.nn.Conv2d;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerAdapters;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Parameter;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link AdapterAttachments}: the one way lora4j's code outside {@code dev.lora4j.nn} attaches and
 * detaches a layer's adapters, while the public API has none.
 */
class AdapterAttachmentsTest {

    /** Adapters with one parameter of their own, so that attaching them shows in the layer's. */
    private static final class Probe implements LayerAdapters.OnInput {
        private final Parameter extra = new Parameter(Nd4j.zeros(DataType.FLOAT, 1));

        @Override
        public void visitParameters(BiConsumer<String, Parameter> visitor) {
            visitor.accept("probe.weight", extra);
        }

        @Override
        public void visitGenerators(BiConsumer<String, Random> visitor) {}

        @Override
        public Tensor forward(Tensor x, boolean training) {
            return x;
        }
    }

    @Test
    void theBridgeDoesWhatTheLayerDoes() {
        Linear linear = new Linear(5, 3);
        assertNull(linear.adapters(), "none before");
        List<String> own = List.copyOf(linear.namedParameters().keySet());

        AtomicInteger made = new AtomicInteger();
        LayerAdapters.OnInput probe = AdapterAttachments.attach(linear, () -> {
            made.incrementAndGet();
            return new Probe();
        });
        assertSame(probe, linear.adapters(), "the layer holds them");
        assertTrue(linear.namedParameters().containsKey("probe.weight"), "and reports their parameters");
        assertSame(probe, AdapterAttachments.attach(linear, Probe::new), "attached once");
        assertEquals(1, made.get(), "the factory runs only when none are attached");

        AdapterAttachments.detach(linear);
        assertNull(linear.adapters());
        assertEquals(own, List.copyOf(linear.namedParameters().keySet()), "its own parameters again");
        AdapterAttachments.detach(linear); // nothing attached: nothing happens
        assertNull(linear.adapters());

        Supplier<Probe> none = () -> null;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AdapterAttachments.attach(linear, none));
        assertTrue(e.getMessage().contains("returned null"), e.getMessage());
        assertNull(linear.adapters(), "a failed attachment attaches nothing");
    }

    @Test
    void theImplementationIsRegisteredOnceOnly() {
        AdapterAttachments.detach(new Linear(2, 2)); // initialised and registered by now
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> AdapterAttachments.register(new AdapterAttachments.Access() {
                    @Override
                    public <A extends LayerAdapters> A attach(AdaptableLayer<A> layer, Supplier<? extends A> create) {
                        throw new AssertionError();
                    }

                    @Override
                    public void detach(AdaptableLayer<?> layer) {
                        throw new AssertionError();
                    }
                }));
        assertTrue(e.getMessage().contains("registered already"), e.getMessage());
    }

    /**
     * Issue 15: a layer's adapters are attached and removed only by lora4j (for LoRA's, through
     * {@code LoraModel}); nothing public or protected on a layer attaches or detaches them, or takes
     * adapters or a factory of them. {@code adapters()} reads them.
     */
    @Test
    void noPublicOrProtectedMethodAttachesOrDetachesAdapters() {
        List<String> found = new ArrayList<>();
        for (Class<?> type : List.of(AdaptableLayer.class, Linear.class, Embedding.class, Conv2d.class)) {
            List<Method> methods = new ArrayList<>(List.of(type.getMethods()));
            for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
                for (Method method : c.getDeclaredMethods()) {
                    if (Modifier.isProtected(method.getModifiers())) {
                        methods.add(method);
                    }
                }
            }
            for (Method method : methods) {
                String name = method.getName().toLowerCase(Locale.ROOT);
                boolean takesAdapters = false;
                for (Class<?> parameter : method.getParameterTypes()) {
                    takesAdapters |= LayerAdapters.class.isAssignableFrom(parameter) || parameter == Supplier.class;
                }
                if (name.contains("attach") || name.contains("detach") || takesAdapters) {
                    found.add(type.getSimpleName() + "." + method.getName());
                }
            }
        }
        assertEquals(List.of(), found);

        Method read;
        try {
            read = AdaptableLayer.class.getMethod("adapters");
        } catch (NoSuchMethodException e) {
            throw new AssertionError("adapters() stays public", e);
        }
        assertEquals(0, read.getParameterCount());
    }
}
