package dev.lora4j.agent.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.LoRA;
import dev.lora4j.api.LoraIndex;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import java.io.IOException;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.ClassFileLocator;
import net.bytebuddy.pool.TypePool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
    private final TypePool pool = AgentBuilder.PoolStrategy.Default.FAST.typePool(ClassFileLocator.ForClassLoader.of(loader), loader);

    private TypeDescription describe(Class<?> type) {
        return pool.describe(type.getName()).resolve();
    }

    @Test
    void matchesIndexedClassesByNameWithoutLookingAtFields(@TempDir Path dir) throws IOException {
        writeIndex(dir, LoraIndex.HEADER + "\n" + Plain.class.getName() + "\tq\n");
        try (URLClassLoader indexed = new URLClassLoader(new URL[] {dir.toUri().toURL()}, loader);
                LogCapture log = new LogCapture()) {
            LoraTypeMatcher matcher = new LoraTypeMatcher(new IndexedClasses(), new FallbackNotice(), new TargetRegistry());
            assertTrue(matcher.matches(describe(Plain.class), indexed, null, null, null));
            assertFalse(matcher.matches(describe(Plain.class), loader, null, null, null), "no index on this loader");
            assertTrue(log.at(Level.INFO).isEmpty(), "no fallback notice for an indexed class");
        }
    }

    @Test
    void fallsBackToTheAnnotationByNameAndSaysSoOnce() {
        try (LogCapture log = new LogCapture()) {
            LoraTypeMatcher matcher = new LoraTypeMatcher(new IndexedClasses(), new FallbackNotice(), new TargetRegistry());
            assertTrue(matcher.matches(describe(Annotated.class), loader, null, null, null));
            assertTrue(matcher.matches(describe(Annotated.class), loader, null, null, null));
            assertTrue(matcher.matches(describe(AlsoAnnotated.class), loader, null, null, null));
            List<LogRecord> infos = log.at(Level.INFO);
            assertEquals(1, infos.size(), "said once");
            assertTrue(infos.get(0).getMessage().contains(Annotated.class.getName()), infos.get(0).getMessage());
            assertTrue(infos.get(0).getMessage().contains("processor"), infos.get(0).getMessage());
        }
    }

    @Test
    void leavesClassesWithoutLoraFieldsAlone() {
        LoraTypeMatcher matcher = new LoraTypeMatcher(new IndexedClasses(), new FallbackNotice(), new TargetRegistry());
        assertFalse(matcher.matches(describe(Plain.class), loader, null, null, null), "another annotation");
        assertFalse(matcher.matches(describe(SubOfAnnotated.class), loader, null, null, null), "holds, not declares");
        assertFalse(matcher.matches(describe(Other.class), loader, null, null, null), "an interface");
    }

    @Test
    void aMalformedIndexIsReportedOnceAndTheFallbackStillWorks(@TempDir Path dir) throws IOException {
        writeIndex(dir, LoraIndex.HEADER + "\nno tab here\n");
        try (URLClassLoader broken = new URLClassLoader(new URL[] {dir.toUri().toURL()}, loader);
                LogCapture log = new LogCapture()) {
            LoraTypeMatcher matcher = new LoraTypeMatcher(new IndexedClasses(), new FallbackNotice(), new TargetRegistry());
            assertFalse(matcher.matches(describe(Plain.class), broken, null, null, null));
            assertTrue(matcher.matches(describe(Annotated.class), broken, null, null, null));
            List<LogRecord> warnings = log.at(Level.WARNING);
            assertEquals(1, warnings.size());
            assertTrue(warnings.get(0).getMessage().contains("line 2"), warnings.get(0).getMessage());
        }
    }

    private static void writeIndex(Path root, String text) throws IOException {
        Path file = root.resolve(LoraIndex.RESOURCE);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }
}
