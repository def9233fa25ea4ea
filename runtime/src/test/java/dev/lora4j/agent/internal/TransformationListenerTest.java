package dev.lora4j.agent.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.instrument.UnmodifiableClassException;
import java.util.List;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import net.bytebuddy.description.type.TypeDescription;
import org.junit.jupiter.api.Test;

class TransformationListenerTest {

    @Test
    void recordsTransformedClasses() {
        TransformationListener listener = new TransformationListener();
        listener.onTransformation(TypeDescription.ForLoadedType.of(String.class), null, null, false, null);
        assertEquals(Set.of("java.lang.String"), listener.transformed());
    }

    @Test
    void aFailedTransformationIsLoggedWithTheClassName() {
        TransformationListener listener = new TransformationListener();
        IllegalStateException error = new IllegalStateException("boom");
        try (LogCapture log = new LogCapture()) {
            listener.onError("com.example.Model", null, null, false, error);
            List<LogRecord> warnings = log.at(Level.WARNING);
            assertEquals(1, warnings.size());
            assertTrue(warnings.get(0).getMessage().contains("com.example.Model"), warnings.get(0).getMessage());
            assertSame(error, warnings.get(0).getThrown());
        }
        assertTrue(listener.transformed().isEmpty());
    }

    @Test
    void aClassWhoseFileCannotBeReadIsSkippedWithoutAWarning() {
        TransformationListener listener = new TransformationListener();
        try (LogCapture log = new LogCapture()) {
            listener.onError("org.example.Proxy$$1", null, null, true,
                    new net.bytebuddy.pool.TypePool.Resolution.NoSuchTypeException("org.example.Proxy$$1"));
            assertTrue(log.at(Level.WARNING).isEmpty(), "no warning for classes the matcher cannot read");
        }
    }

    @Test
    void aFailedRetransformationIsLoggedWithTheClassNameAndNotRetried() {
        TransformationListener listener = new TransformationListener();
        try (LogCapture log = new LogCapture()) {
            Iterable<? extends List<Class<?>>> retry = listener.redefinitions().onError(
                    0, List.of(TransformationListenerTest.class), new UnmodifiableClassException("no"), List.of());
            assertTrue(!retry.iterator().hasNext());
            assertTrue(log.at(Level.WARNING).get(0).getMessage().contains(TransformationListenerTest.class.getName()));
        }
    }
}
