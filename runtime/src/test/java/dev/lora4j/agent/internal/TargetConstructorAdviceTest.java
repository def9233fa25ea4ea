package dev.lora4j.agent.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.agent.TargetSpec;
import dev.lora4j.fixtures.Encoder;
import dev.lora4j.fixtures.EncoderPair;
import dev.lora4j.fixtures.Mismatch;
import dev.lora4j.fixtures.NotAModule;
import dev.lora4j.fixtures.UnnamedSubEncoder;
import dev.lora4j.fixtures.WideEncoder;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.dynamic.loading.ClassLoadingStrategy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The target advice woven as the agent weaves it, into copies of the fixture classes loaded
 * together in a child loader (no agent needed), with specs in the agent's registry: the outermost
 * constructor adapts, once.
 */
class TargetConstructorAdviceTest {

    private static final LoraConfig ENCODERS = LoraConfig.builder()
            .rank(2).alpha(4).targetModules("query", "value", "extra").rankPattern("value", 1).build();
    private static final TargetSpec SPEC = TargetSpec.of(ENCODERS, Encoder.class.getName(), WideEncoder.class.getName(),
            EncoderPair.class.getName(), NotAModule.class.getName());
    private static final TargetSpec NOTHING = TargetSpec.of(
            LoraConfig.builder().targetModules("query").build(), Mismatch.class.getName());

    private static Map<String, Class<?>> woven;

    @BeforeAll
    static void weave() {
        AgentInstaller.targets().add(List.of(SPEC, NOTHING));
        List<DynamicType.Unloaded<?>> types = new ArrayList<>();
        for (Class<?> named : List.of(Encoder.class, WideEncoder.class, EncoderPair.class, NotAModule.class, Mismatch.class)) {
            types.add(new ByteBuddy().decorate(named).visit(LoraTransformer.targetExit()).make());
        }
        DynamicType.Unloaded<?> unnamed = new ByteBuddy().decorate(UnnamedSubEncoder.class).make();
        DynamicType.Loaded<?> loaded = unnamed.include(types)
                .load(TargetConstructorAdviceTest.class.getClassLoader(), ClassLoadingStrategy.Default.CHILD_FIRST);
        woven = new HashMap<>();
        woven.put(UnnamedSubEncoder.class.getName(), loaded.getLoaded());
        loaded.getLoadedAuxiliaryTypes().forEach((type, copy) -> woven.put(type.getName(), copy));
    }

    @AfterAll
    static void forget() {
        AgentInstaller.targets().remove(SPEC);
        AgentInstaller.targets().remove(NOTHING);
    }

    private static Module construct(Class<?> fixture, Object... arguments) throws ReflectiveOperationException {
        Class<?> type = woven.get(fixture.getName());
        Class<?>[] types = new Class<?>[arguments.length];
        for (int i = 0; i < arguments.length; i++) {
            types[i] = int.class;
        }
        return (Module) type.getConstructor(types).newInstance(arguments);
    }

    private static List<String> adapted(Module model) {
        List<String> paths = new ArrayList<>();
        model.namedModules().forEach((path, module) -> {
            if (module instanceof Linear linear && LoraLayers.of(linear) != null) {
                paths.add(path + " r=" + LoraLayers.of(linear).adapter("default").spec().rank()
                        + " x" + LoraLayers.of(linear).adapters().size());
            }
        });
        return paths;
    }

    @Test
    void bothConstructorsAdaptOnceAndTheDelegatingOneWaitsForTheOneItCalls() throws ReflectiveOperationException {
        for (Module encoder : List.of(construct(Encoder.class), construct(Encoder.class, 6))) {
            assertEquals(List.of("query r=2 x1", "value r=1 x1"), adapted(encoder));
            long dim = ((Linear) encoder.namedChildren().get("query")).inFeatures();
            assertEquals(2 * (dim + dim) + (dim + 2 * dim), encoder.trainableParameterCount(), "Σ r·(in+out)");
            assertFalse(((Linear) encoder.namedChildren().get("key")).weight().isTrainable(), "base frozen");
        }
        assertNull(LoraLayers.of(new Encoder().query), "the original class is untouched");
    }

    @Test
    void aNamedSubclassAdaptsOnceWithTheWholeObjectBuilt() throws ReflectiveOperationException {
        Module wide = construct(WideEncoder.class);
        assertEquals(List.of("query r=2 x1", "value r=1 x1", "extra r=2 x1"), adapted(wide));
    }

    @Test
    void anUnnamedSubclassIsAdaptedWhenItsNamedSuperclassConstructorEnds() throws ReflectiveOperationException {
        Module sub = (Module) woven.get(UnnamedSubEncoder.class.getName()).getConstructor().newInstance();
        assertEquals(woven.get(Encoder.class.getName()), sub.getClass().getSuperclass(), "extends the woven Encoder");
        assertEquals(List.of("query r=2 x1", "value r=1 x1"), adapted(sub), "its own field was not set yet");
        Linear extra = (Linear) sub.namedChildren().get("extra");
        assertNull(LoraLayers.of(extra));
        assertTrue(extra.weight().isTrainable(), "nor frozen: the documented limit");
    }

    @Test
    void partsThatAreNamedModelsAreAdaptedOnlyThroughTheEnclosingModel() throws ReflectiveOperationException {
        Module pair = construct(EncoderPair.class);
        assertEquals(List.of("left.query r=2 x1", "left.value r=1 x1", "right.query r=2 x1", "right.value r=1 x1"),
                adapted(pair));
        LoraModel<Module> lora = Lora.adopt(pair);
        assertEquals(ENCODERS, lora.config("default"), "the spec's config, not one rebuilt from the layers");
    }

    @Test
    void twoInstancesGetIndependentAdapters() throws ReflectiveOperationException {
        Module first = construct(Encoder.class);
        Module second = construct(Encoder.class);
        assertNotSame(LoraLayers.of((Linear) first.namedChildren().get("query")).adapter("default").a(),
                LoraLayers.of((Linear) second.namedChildren().get("query")).adapter("default").a());
    }

    @Test
    void aSpecThatMatchesNothingFailsTheConstructorListingTheModulePaths() {
        InvocationTargetException thrown = assertThrows(InvocationTargetException.class, () -> construct(Mismatch.class));
        String message = thrown.getCause().getMessage();
        assertTrue(thrown.getCause() instanceof IllegalArgumentException, String.valueOf(thrown.getCause()));
        assertTrue(message.startsWith("lora4j agent, LoraConfig for [" + Mismatch.class.getName() + "], new "
                + Mismatch.class.getName() + ": no module matches target_modules [query]"), message);
        assertTrue(message.contains("fc (Linear)") && message.contains("norm (LayerNorm)"), message);
    }

    @Test
    void aNamedClassThatIsNotAModuleFailsItsConstructor() {
        InvocationTargetException thrown = assertThrows(InvocationTargetException.class,
                () -> woven.get(NotAModule.class.getName()).getConstructor().newInstance());
        assertTrue(thrown.getCause() instanceof IllegalStateException);
        assertTrue(thrown.getCause().getMessage().contains("is not a dev.lora4j.nn.Module"), thrown.getCause().getMessage());
    }
}
