package dev.lora4j.agent.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.instrument.UnmodifiableClassException;
import java.util.List;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import net.bytebuddy.pool.TypePool;
import org.junit.jupiter.api.Test;

class TransformationListenerTest {

    @Test
    void recordsTransformedClasses() {
        TransformationListener listener = new TransformationListener();
        listener.transformed("com.example.Model");
        assertEquals(Set.of("com.example.Model"), listener.transformed());
    }

    @Test
    void aFailedTransformationIsLoggedWithTheClassName() {
        TransformationListener listener = new TransformationListener();
        IllegalStateException error = new IllegalStateException("boom");
        try (LogCapture log = new LogCapture()) {
            listener.failed("com.example.Model", error);
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
            listener.failed("org.example.Proxy$$1", new TypePool.Resolution.NoSuchTypeException("org.example.Proxy$$1"));
            assertTrue(log.at(Level.WARNING).isEmpty(), "no warning for classes whose files cannot be read");
        }
    }

    @Test
    void aFailedRetransformationIsLoggedWithTheClassName() {
        TransformationListener listener = new TransformationListener();
        try (LogCapture log = new LogCapture()) {
            listener.retransformFailed(TransformationListenerTest.class, new UnmodifiableClassException("no"));
            assertTrue(log.at(Level.WARNING).get(0).getMessage().contains(TransformationListenerTest.class.getName()));
        }
    }
}
