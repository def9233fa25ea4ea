package dev.lora4j.train.internal;

import dev.lora4j.nn.Parameter;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Copies of some parameters' values, to put back later (best-weight restoring). The copy buffers
 * are allocated at the first capture and overwritten by later ones.
 */
public final class WeightSnapshot {

    private final List<Parameter> parameters;
    private final List<INDArray> copies = new ArrayList<>();

    /** A snapshot of {@code parameters}, empty until {@link #capture()}. */
    public WeightSnapshot(List<Parameter> parameters) {
        this.parameters = List.copyOf(parameters);
    }

    /** Copies the current values. */
    public void capture() {
        if (copies.isEmpty()) {
            for (Parameter p : parameters) {
                copies.add(p.value().dup());
            }
        } else {
            for (int i = 0; i < parameters.size(); i++) {
                copies.get(i).assign(parameters.get(i).value());
            }
        }
    }

    /** Whether a capture has happened. */
    public boolean isCaptured() {
        return !copies.isEmpty();
    }

    /** The captured copies, in parameter order (empty before a capture). */
    public List<INDArray> copies() {
        return java.util.Collections.unmodifiableList(copies);
    }

    /** Sets the captured values (from a checkpoint), in parameter order. */
    public void load(List<INDArray> values) {
        copies.clear();
        for (int i = 0; i < parameters.size(); i++) {
            copies.add(values.get(i).castTo(parameters.get(i).dataType()).dup());
        }
    }

    /** Writes the captured values back into the parameters (in place). */
    public void restore() {
        if (!isCaptured()) {
            throw new IllegalStateException("nothing captured");
        }
        for (int i = 0; i < parameters.size(); i++) {
            parameters.get(i).value().assign(copies.get(i));
        }
    }
}
