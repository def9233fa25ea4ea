package dev.lora4j.lora.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.LoraInit;
import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.LoraAdapter;
import dev.lora4j.lora.LoraConv2d;
import dev.lora4j.lora.LoraEmbedding;
import dev.lora4j.lora.LoraLayer;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraLinear;
import dev.lora4j.nn.Linear;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@link LayerMutations}: the one way lora4j's code outside {@code dev.lora4j.lora} changes a
 * layer's adapters, while the public API has none.
 */
class LayerMutationsTest {

    private static final AdapterSettings SPEC = new AdapterSettings(2, 4, 0, false, LoraInit.RANDOM);

    @Test
    void theBridgeDoesWhatTheLayerDoes() {
        Linear linear = new Linear(5, 3);
        LoraLayer lora = LayerMutations.attach(linear);
        assertInstanceOf(LoraLinear.class, lora, "the kind the layer's type takes");
        assertSame(lora, LoraLayers.of(linear), "attached to the layer");
        assertSame(lora, LayerMutations.attach(linear), "attached once");

        LoraAdapter first = LayerMutations.newAdapter(lora, "a", SPEC, new Random(1));
        assertTrue(lora.adapters().isEmpty(), "made, not yet visible");
        LayerMutations.attach(lora, first);
        assertSame(first, lora.adapter("a"));
        assertEquals(List.of("a"), lora.active(), "the first adapter becomes active");
        assertThrows(IllegalArgumentException.class, () -> LayerMutations.attach(lora, first), "name taken");

        LoraAdapter second = LayerMutations.addAdapter(lora, "b", SPEC, new Random(2));
        assertSame(second, lora.adapter("b"));
        assertEquals(List.of("a"), lora.active(), "a later adapter joins the active set only when asked");

        INDArray expected = lora.mergedWeight(List.of("b"));
        LayerMutations.merge(lora, List.of("b"));
        assertEquals(Set.of("b"), lora.merged());
        assertEquals(expected, lora.baseWeight().value());
        assertThrows(IllegalArgumentException.class, () -> LayerMutations.merge(lora, List.of("c")), "no such adapter");
    }

    @Test
    void theImplementationIsRegisteredOnceOnly() {
        LayerMutations.attach(new Linear(2, 2)); // initialised and registered by now
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> LayerMutations.register(new LayerMutations.Access() {
                    @Override
                    public LoraLayer attach(dev.lora4j.nn.AdaptableLayer<?> layer) {
                        throw new AssertionError();
                    }

                    @Override
                    public LoraAdapter addAdapter(LoraLayer layer, String name, AdapterSettings spec, Random random) {
                        throw new AssertionError();
                    }

                    @Override
                    public LoraAdapter newAdapter(LoraLayer layer, String name, AdapterSettings spec, Random random) {
                        throw new AssertionError();
                    }

                    @Override
                    public void attach(LoraLayer layer, LoraAdapter adapter) {
                        throw new AssertionError();
                    }

                    @Override
                    public void merge(LoraLayer layer, java.util.Collection<String> names) {
                        throw new AssertionError();
                    }
                }));
        assertTrue(e.getMessage().contains("registered already"), e.getMessage());
    }

    /** Issue 15: a layer's adapters change only through {@code LoraModel}; nothing public mutates them. */
    @Test
    void noPublicMethodChangesALayersAdapters() {
        Set<String> mutators = Set.of("addAdapter", "newAdapter", "attach", "deleteAdapter", "setActive",
                "setDisabled", "merge", "unmerge", "commitMerge");
        List<String> found = new ArrayList<>();
        for (Class<?> type : List.of(LoraLayer.class, LoraLinear.class, LoraEmbedding.class, LoraConv2d.class,
                LoraLayers.class)) {
            for (Method method : type.getMethods()) {
                if (mutators.contains(method.getName()) && Modifier.isPublic(method.getModifiers())) {
                    found.add(type.getSimpleName() + "." + method.getName());
                }
            }
            for (Method method : type.getDeclaredMethods()) {
                if (mutators.contains(method.getName()) && Modifier.isProtected(method.getModifiers())) {
                    found.add(type.getSimpleName() + "." + method.getName() + " (protected)");
                }
            }
        }
        assertEquals(List.of(), found);
        assertNull(LoraLayers.of(new Linear(2, 2)), "reading attaches nothing");
        // nor can code elsewhere make a kind of layer adapters of its own
        assertTrue(LoraLayer.class.isSealed(), "LoraLayer is sealed");
        assertEquals(Set.of(LoraLinear.class, LoraEmbedding.class, LoraConv2d.class),
                Set.of(LoraLayer.class.getPermittedSubclasses()));
        for (java.lang.reflect.Constructor<?> constructor : LoraLayer.class.getDeclaredConstructors()) {
            int modifiers = constructor.getModifiers();
            assertTrue(!Modifier.isPublic(modifiers) && !Modifier.isProtected(modifiers), constructor.toString());
        }
    }
}
