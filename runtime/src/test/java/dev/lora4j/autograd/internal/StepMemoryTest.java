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
import org.nd4j.linalg.indexing.NDArrayIndex;

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

    @Test
    void backwardEmptiesItsScratchAsItGoesAndGivesTheGradientsOfAPassWithoutIt() {
        // 24 residual blocks on 1M floats: about 300 MB of gradients and temporaries backward,
        // several times the scratch's budget, with gradients pending across each emptying
        INDArray start = Nd4j.rand(DataType.FLOAT, 1000, 1000).subi(0.5);
        INDArray reference = gradientOfBlocks(start);
        Tensor x = Tensor.variable(start);
        long forward;
        long total;
        try (MemoryWorkspace step = StepMemory.open()) {
            Tensor y = blocks(x);
            forward = step.getThisCycleAllocations();
            y.backward();
            total = step.getThisCycleAllocations();
        }
        assertEquals(reference, x.grad(), "the same gradient, bit for bit");
        long stepBackward = total - forward;
        assertTrue(stepBackward < 1_000_000, "backward took " + stepBackward + " bytes of the step's memory");
        long scratch = Nd4j.getWorkspaceManager().getWorkspaceForCurrentThread(BackwardMemory.ID)
                .getMaxCycleAllocations();
        long largestNode = 3 * 4_000_000L;
        assertTrue(scratch <= BackwardMemory.BUDGET + largestNode,
                "the scratch took " + scratch + " bytes between emptyings, budget " + BackwardMemory.BUDGET);
    }

    @Test
    void anEmptyingKeepsThePendingArraysWhateverTheirLayoutTypeAndSize() {
        try (MemoryWorkspace step = StepMemory.open(); BackwardMemory memory = BackwardMemory.open()) {
            INDArray[] previous = null;
            INDArray[] previousExpected = null;
            for (int round = 1; round <= 4; round++) { // four emptyings, each frontier larger
                INDArray plain = Nd4j.rand(DataType.FLOAT, 40 * round, 30);
                INDArray transposed = Nd4j.rand(DataType.FLOAT, 20, 10 * round).transpose();
                INDArray rows = Nd4j.rand(DataType.FLOAT, 50, 8).get(NDArrayIndex.interval(10, 10 + 5 * round),
                        NDArrayIndex.all());
                INDArray wide = Nd4j.rand(DataType.DOUBLE, 6, 7 * round);
                INDArray scalar = Nd4j.scalar(DataType.FLOAT, 1.5f * round);
                INDArray half = Nd4j.rand(DataType.FLOAT, 4, round).castTo(DataType.HALF);
                // the last emptying's copies, still pending, go through this one too
                INDArray carried = previous == null ? Nd4j.rand(DataType.FLOAT, 3, 3) : previous[0];
                INDArray[] pending = {plain, transposed, rows, wide, plain, scalar, half, carried};
                INDArray[] expected = new INDArray[pending.length];
                try (MemoryWorkspace outside = StepMemory.outside()) {
                    for (int i = 0; i < pending.length; i++) {
                        expected[i] = pending[i].dup('c');
                    }
                }
                if (previous != null) {
                    assertEquals(previousExpected[0], carried, "round " + round + ": the carried copy is intact");
                }
                INDArray[] kept = memory.empty(pending);
                assertEquals(pending.length, kept.length);
                for (int i = 0; i < kept.length; i++) {
                    assertEquals(expected[i], kept[i], "round " + round + ", array " + i + " kept bit for bit");
                    assertTrue(Shapes.isPlain(kept[i]), "round " + round + ", array " + i + " is plain");
                    if (kept[i].dataType() == DataType.FLOAT) { // the Java kernels read the buffer from its start
                        assertEquals(expected[i].getFloat(0), kept[i].data().asNioFloat().get(0), 0f,
                                "round " + round + ", array " + i + ": its buffer starts at its first element");
                    }
                    assertFalse(kept[i].isAttached(), "round " + round + ", array " + i + " is outside the workspaces");
                }
                assertTrue(kept[0] != kept[4], "a repeated array is kept as two arrays of its own");
                kept[0].addi(1.0f);
                assertEquals(expected[4], kept[4], "changing one copy leaves the other");
                expected[0].addi(1.0f);
                for (int i = 0; i < kept.length; i++) {
                    assertEquals(expected[i], kept[i], "round " + round + ", array " + i + " after the change");
                }
                previous = kept;
                previousExpected = expected;
            }
        }
    }

    private static INDArray gradientOfBlocks(INDArray start) {
        Tensor x = Tensor.variable(start.dup());
        blocks(x).backward();
        return x.grad();
    }

    private static Tensor blocks(Tensor x) {
        Tensor h = x;
        for (int i = 0; i < 24; i++) {
            Tensor residual = h;
            h = h.tanh().mul(0.5).add(residual.mul(residual).mul(0.01)).add(residual);
        }
        return h.mul(h).mean();
    }
}
