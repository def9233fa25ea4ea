package dev.lora4j.autograd.internal;

import dev.lora4j.autograd.Tensor;
import java.util.IdentityHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Per-thread gradient buffers for leaf tensors: while a sink is open on a thread, the gradients
 * that thread's backward passes send to the sink's leaves land in the sink's buffers, not in the
 * leaves' own (shared) gradient fields. Data-parallel workers each hold one, over the same
 * parameters, and the trainer sums them in a fixed order. The buffers are allocated once and
 * reused; a buffer not reached since {@link #reset()} reads as untouched.
 */
public final class GradientSink implements AutoCloseable {

    private static final ThreadLocal<GradientSink> CURRENT = new ThreadLocal<>();

    private final Map<Tensor, Slot> slots = new IdentityHashMap<>();
    private Thread owner;

    private static final class Slot {
        final INDArray buffer;
        boolean touched;

        Slot(INDArray buffer) {
            this.buffer = buffer;
        }
    }

    /** A sink with one buffer, shaped and typed like its value, per leaf. */
    public GradientSink(Iterable<? extends Tensor> leaves) {
        for (Tensor leaf : leaves) {
            slots.put(leaf, new Slot(leaf.value().ulike()));
        }
    }

    /** The sink open on the calling thread, or {@code null}. */
    public static GradientSink current() {
        return CURRENT.get();
    }

    /** Opens this sink on the calling thread until {@link #close()}; marks every buffer untouched. */
    public GradientSink open() {
        if (CURRENT.get() != null) {
            throw new IllegalStateException("a gradient sink is already open on " + Thread.currentThread().getName());
        }
        reset();
        owner = Thread.currentThread();
        CURRENT.set(this);
        return this;
    }

    /** Marks every buffer untouched (their contents are overwritten by the next gradient). */
    public void reset() {
        for (Slot slot : slots.values()) {
            slot.touched = false;
        }
    }

    /**
     * Adds {@code gradient} to {@code leaf}'s buffer; {@code false} when this sink has none for it
     * (the caller then accumulates as usual).
     */
    public boolean accumulate(Tensor leaf, INDArray gradient) {
        Slot slot = slots.get(leaf);
        if (slot == null) {
            return false;
        }
        if (slot.touched) {
            slot.buffer.addi(gradient);
        } else {
            slot.buffer.assign(gradient);
            slot.touched = true;
        }
        return true;
    }

    /** The buffer of {@code leaf} if a gradient reached it since the last reset, else {@code null}. */
    public INDArray gradient(Tensor leaf) {
        Slot slot = slots.get(leaf);
        return slot != null && slot.touched ? slot.buffer : null;
    }

    @Override
    public void close() {
        if (owner == Thread.currentThread()) {
            CURRENT.remove();
            owner = null;
        }
    }
}
