package dev.lora4j.autograd.internal;

import java.util.IdentityHashMap;
import java.util.Map;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The memory of a backward pass inside a training step's {@link StepMemory}: the gradients passed
 * from node to node and the temporaries of each node's backward step live in a second, smaller
 * workspace that is emptied whenever more than {@link #BUDGET} bytes were taken from it. Before
 * it is emptied, the gradients still waiting for their node (a few activations' worth: the
 * frontier of the pass) are copied out and back in. Without it the step's memory held every
 * gradient and temporary of the whole pass until the step ended, as much again as the forward
 * pass's activations.
 *
 * <p>Outside a step (no step memory open on the thread) it does nothing: arrays are allocated as
 * the caller's scope says.
 */
public final class BackwardMemory implements AutoCloseable {

    /** Bytes taken from the scratch between two emptyings, at least (one node's backward may exceed it). */
    public static final long BUDGET = 48L << 20;

    static final String ID = "lora4j-backward";

    private MemoryWorkspace scope;

    private BackwardMemory(MemoryWorkspace scope) {
        this.scope = scope;
    }

    /** Opens the scratch when the calling thread is inside a step's memory; otherwise an inactive one. */
    public static BackwardMemory open() {
        MemoryWorkspace current = Nd4j.getMemoryManager().getCurrentWorkspace();
        boolean inStep = current != null && StepMemory.ID.equals(current.getId());
        return new BackwardMemory(inStep ? activate() : null);
    }

    private static MemoryWorkspace activate() {
        return Nd4j.getWorkspaceManager().getAndActivateWorkspace(StepMemory.CONFIG, ID);
    }

    /** Whether the scratch has handed out more than its budget since it was last emptied. */
    public boolean full() {
        return scope != null && scope.getThisCycleAllocations() > BUDGET;
    }

    /**
     * Empties the scratch, keeping {@code pending}: returns copies of those arrays in the emptied
     * scratch, in order, each its own (the caller may change them in place). Nothing else allocated
     * in the scratch may be used afterwards. Meanwhile the arrays wait outside the workspaces, in
     * arrays freed as soon as they have been copied back (a buffer kept per thread instead saved
     * under 1 ms a main-job step and held about 40 MB per worker).
     */
    @SuppressWarnings("try") // the scope is used only for its close()
    public INDArray[] empty(INDArray[] pending) {
        if (scope == null) {
            return pending;
        }
        Map<INDArray, INDArray> held = new IdentityHashMap<>();
        try (MemoryWorkspace outside = StepMemory.outside()) {
            for (INDArray array : pending) {
                held.computeIfAbsent(array, a -> copy(a, Nd4j.createUninitialized(a.dataType(), a.shape(), 'c')));
            }
        }
        scope.close();
        scope = activate();
        INDArray[] kept = new INDArray[pending.length];
        for (int i = 0; i < pending.length; i++) {
            INDArray copy = held.get(pending[i]);
            kept[i] = copy(copy, Nd4j.createUninitialized(copy.dataType(), copy.shape(), 'c'));
        }
        held.values().forEach(INDArray::close);
        return kept;
    }

    @Override
    public void close() {
        if (scope != null) {
            scope.close();
            scope = null;
        }
    }

    /**
     * Copies {@code from} into {@code to} (same type and shape, {@code to} contiguous row-major) and
     * returns {@code to}: one {@code memcpy} where {@code from} is contiguous row-major too, instead of
     * ND4J's element-wise copy.
     */
    private static INDArray copy(INDArray from, INDArray to) {
        if (contiguous(from) && from.dataType() == to.dataType()) {
            Pointer.memcpy(to.data().addressPointer(), from.data().addressPointer(),
                    from.length() * from.dataType().width());
            return to;
        }
        return to.assign(from);
    }

    private static boolean contiguous(INDArray a) {
        return a.ordering() == 'c' && (a.length() <= 1 || a.elementWiseStride() == 1);
    }
}
