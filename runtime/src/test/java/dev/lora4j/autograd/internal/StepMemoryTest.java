package dev.lora4j.autograd.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.Tensor;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.executioner.OpExecutioner;
import org.nd4j.linalg.factory.Nd4j;

class StepMemoryTest {

    @Test
    void aStepsArraysLiveInItsMemoryAndALeafGradientOutsideIt() {
        Tensor w = Tensor.variable(Nd4j.ones(DataType.FLOAT, 3));
        INDArray inside;
        try (MemoryWorkspace step = StepMemory.open()) {
            Tensor y = w.mul(2.0).sum();
            inside = y.value();
            assertTrue(inside.isAttached(), "an activation is the step's");
            y.backward();
        }
        assertFalse(w.grad().isAttached(), "the leaf's gradient outlives the step");
        assertEquals(2.0, w.grad().getDouble(0));
        INDArray leaked = inside;
        OpExecutioner executioner = Nd4j.getExecutioner();
        executioner.setProfilingMode(OpExecutioner.ProfilingMode.SCOPE_PANIC);
        try {
            assertThrows(RuntimeException.class, () -> leaked.add(1.0), "an array used after its step is caught");
        } finally {
            executioner.setProfilingMode(OpExecutioner.ProfilingMode.DISABLED);
        }
    }
}
