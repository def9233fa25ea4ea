package dev.lora4j.autograd.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.testing.Bitwise;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class GradientSinkTest {

    /** Backpropagates sum(x·w). */
    private static void backward(Tensor w, INDArray x) {
        Tensor.constant(x).matmul(w).sum().backward();
    }

    @Test
    void twoThreadsEachCollectTheirOwnGradientAndTheSharedLeafStaysUntouched() throws Exception {
        Tensor w = Tensor.variable(Nd4j.rand(DataType.FLOAT, 3, 2));
        INDArray x1 = Nd4j.rand(DataType.FLOAT, 4, 3);
        INDArray x2 = Nd4j.rand(DataType.FLOAT, 5, 3);
        GradientSink first = new GradientSink(List.of(w));
        GradientSink second = new GradientSink(List.of(w));
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 20; round++) {
                Future<?> a = pool.submit(() -> {
                    try (GradientSink s = first.open()) {
                        backward(w, x1.dup());
                        backward(w, x1.dup()); // accumulates
                    }
                });
                Future<?> b = pool.submit(() -> {
                    try (GradientSink s = second.open()) {
                        backward(w, x2.dup());
                    }
                });
                a.get();
                b.get();
                assertNull(w.grad(), "the shared leaf's own buffer");
                // d/dw sum(x·w) = xᵀ·1: column sums of x, repeated per output
                INDArray expected1 = x1.sum(0).reshape(3, 1).repeat(1, 2).muli(2);
                INDArray expected2 = x2.sum(0).reshape(3, 1).repeat(1, 2);
                assertTrue(expected1.equalsWithEps(first.gradient(w), 1e-5), first.gradient(w).toString());
                assertTrue(expected2.equalsWithEps(second.gradient(w), 1e-5), second.gradient(w).toString());
            }
        } finally {
            pool.shutdownNow();
        }
        backward(w, x1.dup());
        assertTrue(Bitwise.equal(x1.sum(0).reshape(3, 1).repeat(1, 2), w.grad()), "no sink open: the leaf's own buffer");
    }

    @Test
    void anUntouchedBufferReadsAsNoGradientAndSinksDoNotNest() {
        Tensor w = Tensor.variable(Nd4j.ones(DataType.FLOAT, 2));
        Tensor other = Tensor.variable(Nd4j.ones(DataType.FLOAT, 2));
        GradientSink sink = new GradientSink(List.of(w));
        try (GradientSink s = sink.open()) {
            other.mul(2.0).sum().backward();
            assertNull(sink.gradient(w), "reached no gradient");
            assertEquals(2.0, other.grad().getDouble(0), "a leaf the sink does not hold accumulates as usual");
            assertThrows(IllegalStateException.class, () -> new GradientSink(List.of(other)).open());
        }
    }
}
