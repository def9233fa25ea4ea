package dev.lora4j.agent.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Modifier;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.matcher.ElementMatcher;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LoraAgentBuilderTest {

    private static final ElementMatcher<TypeDescription> IGNORED = LoraAgentBuilder.ignoredTypes();

    private static TypeDescription named(String name) {
        return new TypeDescription.Latent(name, Modifier.PUBLIC, TypeDescription.Generic.OfNonGenericType.ForLoadedType.of(Object.class));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "java.lang.String", "jdk.internal.misc.Unsafe", "sun.misc.Unsafe", "net.bytebuddy.ByteBuddy",
        "org.nd4j.linalg.factory.Nd4j", "org.bytedeco.javacpp.Loader", "dev.lora4j.Lora", "dev.lora4j.nn.Linear",
        "dev.lora4j.agent.internal.AgentHooks", "dev.lora4j.lora.internal.AnnotationInjector", "dev.lora4j.api.LoRA",
        "dev.lora4j.dsl.LoraDsl", "dev.lora4j.pipeline.FineTuneRunner",
        "org.junit.jupiter.api.Test"
    })
    void ignoresTheJdkLibrariesAndLora4jItself(String name) {
        assertTrue(IGNORED.matches(named(name)), name);
        assertTrue(LoraAgentBuilder.isIgnored(name), name + ": target specs are refused for it too");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "dev.lora4j.samples.tiny.TinyLm", "dev.lora4j.it.NoProcessorModel", "com.example.Model", "Model",
        "dev.lora4j.LoraModelOfMine", "javaish.Model"
    })
    void looksAtUserClasses(String name) {
        assertFalse(IGNORED.matches(named(name)), name);
        assertFalse(LoraAgentBuilder.isIgnored(name), name);
    }
}
