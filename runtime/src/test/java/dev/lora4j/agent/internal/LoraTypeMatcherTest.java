package dev.lora4j.agent.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.agent.TargetSpec;
import dev.lora4j.api.LoRA;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.testing.AgentFixtures;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.util.List;
import java.util.logging.Level;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.pool.TypePool;
import org.junit.jupiter.api.Test;

class LoraTypeMatcherTest {

    @Retention(RetentionPolicy.RUNTIME)
    @interface Other {}

    static final class Annotated extends Module {
        @LoRA(rank = 2)
        final Linear q = new Linear(3, 3);
    }

    static final class AlsoAnnotated extends Module {
        @LoRA
        Linear v;
    }

    static final class Plain extends Module {
        @Other
        final Linear q = new Linear(3, 3);
    }

    static final class SubOfAnnotated extends Module {
        final Annotated inner = new Annotated();
    }

    private final ClassLoader loader = getClass().getClassLoader();
    private final TypePool pool = TypePool.Default.of(new ResourceLocator(loader));

    private TypeDescription describe(Class<?> type) {
        return pool.describe(type.getName()).resolve();
    }

    @Test
    void matchesClassesDeclaringLoraFieldsFromTheirClassFilesWithoutLogging() {
        try (LogCapture log = new LogCapture()) {
            LoraTypeMatcher matcher = new LoraTypeMatcher(new TargetRegistry());
            assertTrue(matcher.matches(describe(Annotated.class)));
            assertTrue(matcher.matches(describe(AlsoAnnotated.class)));
            assertTrue(matcher.isAnnotated(describe(Annotated.class)));
            assertFalse(matcher.isTarget(describe(Annotated.class)));
            assertTrue(log.at(Level.INFO).isEmpty(), "matching by annotation is the one path: nothing to say");
        }
    }

    @Test
    void leavesClassesWithoutLoraFieldsAlone() {
        LoraTypeMatcher matcher = new LoraTypeMatcher(new TargetRegistry());
        assertFalse(matcher.matches(describe(Plain.class)), "another annotation");
        assertFalse(matcher.matches(describe(SubOfAnnotated.class)), "holds, not declares");
        assertFalse(matcher.matches(describe(Other.class)), "an interface");
    }

    @Test
    void aTargetSpecNamesAClassWithoutAnnotations() {
        TargetRegistry targets = new TargetRegistry();
        targets.add(List.of(TargetSpec.of(LoraConfig.builder().targetModules("q").build(), "com.acme.Encoder")));
        // a class outside lora4j's own packages (which the agent never instruments), without fields
        TypeDescription encoder = new net.bytebuddy.ByteBuddy().subclass(Object.class).name("com.acme.Encoder").make()
                .getTypeDescription();
        LoraTypeMatcher matcher = new LoraTypeMatcher(targets);
        assertTrue(matcher.matches(encoder));
        assertTrue(matcher.isTarget(encoder));
        assertFalse(matcher.isAnnotated(encoder));
        assertFalse(new LoraTypeMatcher(new TargetRegistry()).matches(encoder));
    }

    @Test
    void aByteSearchRulesOutClassFilesThatNeverMentionTheAnnotation() throws java.io.IOException {
        LoraTypeMatcher matcher = new LoraTypeMatcher(new TargetRegistry());
        assertTrue(matcher.mayMatch(Annotated.class.getName(), ResourceLocator.read(loader, Annotated.class.getName())));
        assertFalse(matcher.mayMatch(Plain.class.getName(), ResourceLocator.read(loader, Plain.class.getName())));
        assertFalse(matcher.mayMatch(SubOfAnnotated.class.getName(),
                ResourceLocator.read(loader, SubOfAnnotated.class.getName())));
        String plain = AgentFixtures.Plain.class.getName();
        TargetRegistry targets = new TargetRegistry();
        targets.add(List.of(TargetSpec.of(LoraConfig.builder().targetModules("q").build(), plain)));
        assertFalse(matcher.mayMatch(plain, ResourceLocator.read(loader, plain)));
        assertTrue(new LoraTypeMatcher(targets).mayMatch(plain, ResourceLocator.read(loader, plain)), "a spec names it");
    }
}
