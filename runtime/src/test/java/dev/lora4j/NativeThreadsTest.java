package dev.lora4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

class NativeThreadsTest {

    @Test
    void limitSetsNd4jsPoolAndBlas() {
        NativeThreads.limit(1);
        assertEquals(1, Nd4j.getEnvironment().maxThreads());
        assertEquals(1, Nd4j.getEnvironment().maxMasterThreads());
        assertEquals(1, Nd4j.factory().blas().getMaxThreads());
    }

    @Test
    void splitGivesTheGemmsTheirOwnThreadCount() {
        try {
            NativeThreads.split(2, 1);
            assertEquals(1, Nd4j.getEnvironment().maxThreads());
            assertEquals(1, Nd4j.getEnvironment().maxMasterThreads());
            assertEquals(2, Nd4j.factory().blas().getMaxThreads());
        } finally {
            NativeThreads.limit(1);
        }
        assertThrows(IllegalArgumentException.class, () -> NativeThreads.split(2, 0));
    }

    @Test
    void fewerThanOneThreadIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NativeThreads.limit(0));
        assertEquals("threads must be at least 1, got 0", e.getMessage());
    }
}
