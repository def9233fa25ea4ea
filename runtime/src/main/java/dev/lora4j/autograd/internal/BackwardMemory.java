package dev.lora4j.autograd.internal;

import java.util.EnumMap;
import java.util.Map;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.indexer.DoubleIndexer;
import org.bytedeco.javacpp.indexer.FloatIndexer;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The memory of a backward pass inside a training step's {@link StepMemory}: the gradients passed
 * from node to node and the temporaries of each node's backward step live in a second, smaller
 * workspace that is emptied whenever more than {@link #BUDGET} bytes were taken from it. Before
 * it is emptied, the gradients still waiting for their node (a few activations' worth: the
 * frontier of the pass) are copied into memory outside the workspaces and used from there.
 * Without it the step's memory held every gradient and temporary of the whole pass until the step
 * ended, as much again as the forward pass's activations.
 *
 * <p>Outside a step (no step memory open on the thread) it does nothing: arrays are allocated as
 * the caller's scope says.
 */
public final class BackwardMemory implements AutoCloseable {

    /** Bytes taken from the scratch between two emptyings, at least (one node's backward may exceed it). */
    public static final long BUDGET = 48L << 20;

    static final String ID = "lora4j-backward";

    private MemoryWorkspace scope;
    private final @Nullable Holding holding;

    private BackwardMemory(MemoryWorkspace scope, @Nullable Holding holding) {
        this.scope = scope;
        this.holding = holding;
    }

    /** Opens the scratch when the calling thread is inside a step's memory; otherwise an inactive one. */
    public static BackwardMemory open() {
        MemoryWorkspace current = Nd4j.getMemoryManager().getCurrentWorkspace();
        boolean inStep = current != null && StepMemory.ID.equals(current.getId());
        return inStep ? new BackwardMemory(activate(), Holding.THREAD.get()) : new BackwardMemory(null, null);
    }

    private static MemoryWorkspace activate() {
        return Nd4j.getWorkspaceManager().getAndActivateWorkspace(StepMemory.CONFIG, ID);
    }

    /** Whether the scratch has handed out more than its budget since it was last emptied. */
    public boolean full() {
        return scope != null && scope.getThisCycleAllocations() > BUDGET;
    }

    /**
     * Empties the scratch, keeping {@code pending}: returns copies of those arrays, in order, each
     * its own (the caller may change them in place), plain and row-major. Nothing else allocated in
     * the scratch may be used afterwards, nor the arrays an earlier emptying returned. The copies
     * live outside the workspaces, in one of two areas of the thread's that take turns: each
     * emptying copies the frontier once, into memory used before (copying it out into fresh arrays
     * and back into the scratch took 1.9% of a one-worker main-job step, page faults included).
     */
    public INDArray[] empty(INDArray[] pending) {
        if (scope == null) {
            return pending;
        }
        INDArray[] kept = holding.keep(pending);
        scope.close();
        scope = activate();
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
     * A thread's two areas for the gradients pending across an emptying, per data type, grown to the
     * largest frontier seen and kept for the thread's next backward passes.
     */
    private static final class Holding {
        private static final ThreadLocal<Holding> THREAD = ThreadLocal.withInitial(Holding::new);
        /** Copies start on 64-byte boundaries (16 elements of four bytes or more). */
        private static final long ALIGN = 16;

        private final Map<DataType, DataBuffer[]> areas = new EnumMap<>(DataType.class);
        private int turn;

        /** Copies of the arrays in the area whose turn it is (not the one the previous copies are in). */
        @SuppressWarnings("try") // the scope is used only for its close()
        INDArray[] keep(INDArray[] pending) {
            turn ^= 1;
            Map<DataType, Long> needed = new EnumMap<>(DataType.class);
            for (INDArray a : pending) {
                if (inArea(a)) {
                    needed.merge(a.dataType(), aligned(a.length()), Long::sum);
                }
            }
            Map<DataType, Long> next = new EnumMap<>(DataType.class);
            INDArray[] kept = new INDArray[pending.length];
            try (MemoryWorkspace outside = StepMemory.outside()) {
                for (Map.Entry<DataType, Long> e : needed.entrySet()) {
                    DataBuffer[] pair = areas.computeIfAbsent(e.getKey(), t -> new DataBuffer[2]);
                    if (pair[turn] == null || pair[turn].length() < e.getValue()) {
                        pair[turn] = Nd4j.createBuffer(e.getKey(), Math.max(1, e.getValue()), false);
                    }
                    next.put(e.getKey(), 0L);
                }
                for (int i = 0; i < pending.length; i++) {
                    INDArray a = pending[i];
                    if (!inArea(a)) {
                        kept[i] = copy(a, Nd4j.createUninitialized(a.dataType(), a.shape(), 'c'));
                        continue;
                    }
                    long offset = next.get(a.dataType());
                    next.put(a.dataType(), offset + aligned(a.length()));
                    DataBuffer place = slice(areas.get(a.dataType())[turn], offset, a.length());
                    kept[i] = copy(a, Nd4j.create(place, a.shape(), Nd4j.getStrides(a.shape(), 'c'), 0, 'c'));
                }
            }
            return kept;
        }

        /** Float32 and float64 arrays go to the areas; a scalar or another type gets a small array of its own. */
        private static boolean inArea(INDArray a) {
            return a.rank() > 0 && (a.dataType() == DataType.FLOAT || a.dataType() == DataType.DOUBLE);
        }

        /**
         * {@code length} elements of the area from {@code offset}, as a buffer of their own that starts
         * there (offset 0): ND4J's own view buffers keep the area's start for {@code asNio*}, which
         * the Java kernels read.
         */
        private static DataBuffer slice(DataBuffer area, long offset, long length) {
            if (area.dataType() == DataType.FLOAT) {
                FloatPointer start = new FloatPointer(area.addressPointer()).getPointer(offset).capacity(length);
                return Nd4j.createBuffer(start, DataType.FLOAT, length, FloatIndexer.create(start));
            }
            DoublePointer start = new DoublePointer(area.addressPointer()).getPointer(offset).capacity(length);
            return Nd4j.createBuffer(start, DataType.DOUBLE, length, DoubleIndexer.create(start));
        }

        private static long aligned(long length) {
            return (Math.max(1, length) + ALIGN - 1) / ALIGN * ALIGN;
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
