package dev.lora4j.agent.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.doThrow;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import dev.lora4j.agent.TargetSpec;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.nn.Linear;
import dev.lora4j.testing.AgentFixtures;
import java.io.IOException;
import java.lang.instrument.Instrumentation;
import java.lang.instrument.UnmodifiableClassException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Level;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.dynamic.loading.ByteArrayClassLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LoraTransformerTest {

    private final ClassLoader loader = getClass().getClassLoader();
    private final TransformationListener listener = new TransformationListener();
    private final TargetRegistry targets = new TargetRegistry();
    private final Instrumentation instrumentation = mock(Instrumentation.class);
    private final LoraTransformer transformer = new LoraTransformer(instrumentation, listener, targets);

    private static byte[] classFile(Class<?> type) throws IOException {
        return ResourceLocator.read(type.getClassLoader(), type.getName());
    }

    private byte[] transform(String name, byte[] classFile) {
        return transformer.transform(getClass().getModule(), loader, name.replace('.', '/'), null, null, classFile);
    }

    /** {@code classFile} defined as {@code name} in a child loader that looks at itself first. */
    private Class<?> define(String name, byte[] classFile) throws ClassNotFoundException {
        return new ByteArrayClassLoader.ChildFirst(loader, Map.of(name, classFile)).loadClass(name);
    }

    @Test
    void aClassDeclaringLoraFieldsGetsAdaptersAtConstruction() throws Exception {
        String name = AgentFixtures.Block.class.getName();
        byte[] woven = transform(name, classFile(AgentFixtures.Block.class));
        assertNotNull(woven, "woven");
        assertEquals(Set.of(name), listener.transformed());
        Class<?> type = define(name, woven);
        Object block = type.getConstructor().newInstance();
        assertNotNull(LoraLayers.of((Linear) type.getField("q").get(block)), "q adapted by the advice");
        assertNull(LoraLayers.of((Linear) type.getField("k").get(block)), "k is not annotated");
    }

    @Test
    void classesWithoutLoraFieldsPassUntouchedAndUnrecorded() throws IOException {
        assertNull(transform(AgentFixtures.Plain.class.getName(), classFile(AgentFixtures.Plain.class)),
                "another annotation");
        assertNull(transform(AgentFixtures.Holder.class.getName(),
                classFile(AgentFixtures.Holder.class)), "holds a model, declares no @LoRA field");
        assertNull(transformer.transform(getClass().getModule(), null, "com/example/Model", null, null,
                classFile(AgentFixtures.Block.class)), "the boot loader's classes are the JDK's");
        assertTrue(listener.transformed().isEmpty());
    }

    @Test
    void aClassASpecNamesGetsTheTargetAdviceWithoutAnnotations() throws Exception {
        targets.add(List.of(TargetSpec.of(LoraConfig.builder().targetModules("q").build(), "com.acme.Encoder")));
        byte[] plain = new ByteBuddy().subclass(Object.class).name("com.acme.Encoder").make().getBytes();
        byte[] woven = transform("com.acme.Encoder", plain);
        assertNotNull(woven);
        assertEquals(Set.of("com.acme.Encoder"), listener.transformed());
        assertNull(new LoraTransformer(instrumentation, new TransformationListener(), new TargetRegistry())
                .transform(getClass().getModule(), loader, "com/acme/Encoder", null, null, plain), "no spec, no advice");
    }

    @Test
    void aClassThatCannotBeWovenLoadsAsItWasAndIsLoggedByName() {
        byte[] broken = "not a class file, but it mentions Ldev/lora4j/api/LoRA; all the same"
                .getBytes(StandardCharsets.US_ASCII);
        try (LogCapture log = new LogCapture()) {
            assertNull(transform("com.example.Broken", broken));
            assertEquals(1, log.at(Level.WARNING).size());
            assertTrue(log.at(Level.WARNING).get(0).getMessage().contains("com.example.Broken"));
        }
        assertTrue(listener.transformed().isEmpty());
    }

    @Test
    void aLateAttachRetransformsOnlyLoadedClassesThatMayNeedAdviceAndGoesOnPastAFailure() throws Exception {
        Class<?> block = AgentFixtures.Block.class;
        Class<?> unadaptable = AgentFixtures.Unadaptable.class;
        when(instrumentation.getAllLoadedClasses()).thenReturn(new Class<?>[] {
            String.class, Linear.class, AgentFixtures.Plain.class, unadaptable, block, int[].class});
        when(instrumentation.isModifiableClass(any())).thenReturn(true);
        doThrow(new UnmodifiableClassException("no")).when(instrumentation).retransformClasses(unadaptable);
        try (LogCapture log = new LogCapture()) {
            transformer.retransformLoaded();
            assertEquals(1, log.at(Level.WARNING).size(), "the failure, logged");
            assertTrue(log.at(Level.WARNING).get(0).getMessage().contains(unadaptable.getName()));
        }
        verify(instrumentation).retransformClasses(block);
        verify(instrumentation, never()).retransformClasses(String.class);
        verify(instrumentation, never()).retransformClasses(Linear.class);
        verify(instrumentation, never()).retransformClasses(AgentFixtures.Plain.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "java.lang.String", "jdk.internal.misc.Unsafe", "sun.misc.Unsafe", "net.bytebuddy.ByteBuddy",
        "org.nd4j.linalg.factory.Nd4j", "org.bytedeco.javacpp.Loader", "dev.lora4j.Lora", "dev.lora4j.nn.Linear",
        "dev.lora4j.agent.internal.AgentHooks", "dev.lora4j.lora.internal.AnnotationInjector", "dev.lora4j.api.LoRA",
        "dev.lora4j.dsl.LoraDsl", "dev.lora4j.pipeline.FineTuneRunner",
        "org.junit.jupiter.api.Test"
    })
    void ignoresTheJdkLibrariesAndLora4jItself(String name) throws IOException {
        assertTrue(LoraTransformer.isIgnored(name), name + ": target specs are refused for it too");
        assertNull(transform(name, classFile(AgentFixtures.Block.class)), name);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "dev.lora4j.samples.tiny.TinyLm", "dev.lora4j.it.NoProcessorModel", "com.example.Model", "Model",
        "dev.lora4j.LoraModelOfMine", "javaish.Model"
    })
    void looksAtUserClasses(String name) {
        assertFalse(LoraTransformer.isIgnored(name), name);
    }
}
