package dev.lora4j.autograd.internal;

import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The memory of one training step's forward and backward pass: an ND4J workspace per thread,
 * which hands out the step's activations, masks and intermediate gradients from one block and
 * takes them all back when the step ends. Without it each of those arrays is a native allocation
 * freed only when the garbage collector finds its Java wrapper, so a training process grew to
 * several gigabytes and spent much of its time in the kernel, faulting in fresh pages.
 *
 * <p>Nothing computed inside may be kept after the step: what outlives it (a parameter's gradient
 * buffer, a cached constant) is allocated {@linkplain #outside() outside}. The block is sized by
 * the first step and grows to the largest step seen (steps of longer sequences need more).
 */
public final class StepMemory {

    static final String ID = "lora4j-step";
    /** A workspace sized by its first cycle that grows to the largest cycle seen; also {@link BackwardMemory}'s. */
    static final WorkspaceConfiguration CONFIG = WorkspaceConfiguration.builder()
            .initialSize(0)
            .policyAllocation(AllocationPolicy.OVERALLOCATE)
            .overallocationLimit(0.1)
            .policyLearning(LearningPolicy.FIRST_LOOP)
            .policySpill(SpillPolicy.REALLOCATE)
            .policyReset(ResetPolicy.BLOCK_LEFT)
            .build();

    private StepMemory() {}

    /** Opens the calling thread's step workspace until the returned scope is closed. */
    public static MemoryWorkspace open() {
        return Nd4j.getWorkspaceManager().getAndActivateWorkspace(CONFIG, ID);
    }

    /** A scope in which arrays are allocated outside any workspace, to outlive the step. */
    public static MemoryWorkspace outside() {
        return Nd4j.getWorkspaceManager().scopeOutOfWorkspaces();
    }
}
