package dev.lora4j.autograd.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link OneDnn}'s per-thread primitives: a thread that ran a primitive and ended has its stream
 * and primitives destroyed once its cache is collected, so threads that come and go do not leak
 * native memory. Waits up to 20 s of collections for the cleaner.
 */
class OneDnnTest {

    @Test
    void anEndedThreadsPrimitivesAreDestroyed() throws Exception {
        float[] values = new float[64];
        for (int i = 0; i < values.length; i++) {
            values[i] = -3f + 6f * i / 63;
        }
        INDArray x = Nd4j.createFromArray(values);
        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, 64);
        int before = OneDnn.liveCaches();
        boolean[] ran = new boolean[1];
        Thread worker = new Thread(() -> ran[0] = OneDnnKernels.geluForward(x, y), "short-lived");
        worker.start();
        worker.join();
        assertTrue(ran[0], "the thread ran oneDNN's GELU");
        assertEquals(x.getFloat(63) * 0.99865, y.getFloat(63), 1e-4, "gelu(3) = 3·Φ(3)");
        worker = null;
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (OneDnn.liveCaches() > before && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(50);
        }
        assertTrue(OneDnn.liveCaches() <= before, "the ended thread's cache was released: "
                + OneDnn.liveCaches() + " live, " + before + " before");
    }
}
