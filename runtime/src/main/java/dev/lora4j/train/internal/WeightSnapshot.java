package dev.lora4j.train.internal;

import dev.lora4j.nn.Parameter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Copies of some parameters' values, and of buffers such as BatchNorm's running statistics, to put
 * back later (best-weight restoring). The copy buffers are allocated at the first capture and
 * overwritten by later ones.
 */
public final class WeightSnapshot {

    private final List<INDArray> targets = new ArrayList<>();
    private final List<INDArray> copies = new ArrayList<>();

    /** A snapshot of {@code parameters}, empty until {@link #capture()}. */
    public WeightSnapshot(List<Parameter> parameters) {
        this(parameters, List.of());
    }

    /**
     * A snapshot of {@code parameters} and of {@code buffers} (arrays a module changes in place),
     * empty until {@link #capture()}.
     */
    public WeightSnapshot(List<Parameter> parameters, Collection<INDArray> buffers) {
        for (Parameter p : parameters) {
            targets.add(p.value());
        }
        targets.addAll(buffers);
    }

    /** Copies the current values. */
    public void capture() {
        if (copies.isEmpty()) {
            for (INDArray target : targets) {
                copies.add(target.dup());
            }
        } else {
            for (int i = 0; i < targets.size(); i++) {
                copies.get(i).assign(targets.get(i));
            }
        }
    }

    /** Whether a capture has happened. */
    public boolean isCaptured() {
        return !copies.isEmpty();
    }

    /** The captured copies, parameters first then buffers, in order (empty before a capture). */
    public List<INDArray> copies() {
        return java.util.Collections.unmodifiableList(copies);
    }

    /** Sets the captured values (from a checkpoint), in the order of {@link #copies()}. */
    public void load(List<INDArray> values) {
        if (values.size() != targets.size()) {
            throw new IllegalArgumentException("a snapshot of " + targets.size() + " arrays cannot load " + values.size());
        }
        copies.clear();
        for (int i = 0; i < targets.size(); i++) {
            copies.add(values.get(i).castTo(targets.get(i).dataType()).dup());
        }
    }

    /** Writes the captured values back (in place). */
    public void restore() {
        if (!isCaptured()) {
            throw new IllegalStateException("nothing captured");
        }
        for (int i = 0; i < targets.size(); i++) {
            targets.get(i).assign(copies.get(i));
        }
    }
}
