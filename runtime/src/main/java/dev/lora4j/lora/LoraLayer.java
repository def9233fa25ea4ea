package dev.lora4j.lora;

import dev.lora4j.nn.Parameter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.BiConsumer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The LoRA adapters attached to one base layer: several named adapters, one active set at a
 * time, a disabled switch, and merging into the base weight. {@link LoraLinear},
 * {@link LoraEmbedding} and {@link LoraConv2d} supply the shapes and the forward update.
 */
public abstract class LoraLayer {

    private final Map<String, LoraAdapter> adapters = new LinkedHashMap<>();
    private final Set<String> merged = new LinkedHashSet<>();
    private List<String> active = List.of();
    private boolean disabled;

    /** The base weight that merging changes. */
    public abstract Parameter baseWeight();

    /** The shape of factor A of a rank-{@code rank} adapter, as PEFT saves it. */
    public abstract long[] aShape(int rank);

    /** The shape of factor B of a rank-{@code rank} adapter, as PEFT saves it. */
    public abstract long[] bShape(int rank);

    /** New factors A and B for {@code spec}. */
    protected abstract Parameter[] createFactors(AdapterSpec spec, Random random);

    /** {@code s·ΔW} of one adapter in the base weight's layout. */
    public abstract INDArray deltaWeight(LoraAdapter adapter);

    /** The saved-tensor suffix of A, e.g. {@code lora_A} or {@code lora_embedding_A}. */
    public abstract String aName();

    /** The saved-tensor suffix of B. */
    public abstract String bName();

    /**
     * Adds an adapter and makes it trainable; it joins the active set only through
     * {@link #setActive}, except that the first adapter becomes active at once.
     */
    public LoraAdapter addAdapter(String name, AdapterSpec spec, Random random) {
        if (adapters.containsKey(name)) {
            throw new IllegalArgumentException("adapter '" + name + "' already exists on this layer");
        }
        Parameter[] factors = createFactors(spec, random);
        LoraAdapter adapter = new LoraAdapter(name, spec, factors[0], factors[1], random);
        adapters.put(name, adapter);
        if (active.isEmpty()) {
            setActive(List.of(name));
        } else {
            factors[0].setTrainable(active.contains(name));
            factors[1].setTrainable(active.contains(name));
        }
        return adapter;
    }

    /** Removes an adapter (unmerging it first when merged). */
    public void deleteAdapter(String name) {
        LoraAdapter adapter = require(name);
        if (merged.contains(name)) {
            unmerge(List.of(name));
        }
        adapters.remove(adapter.name());
        List<String> remaining = new ArrayList<>(active);
        remaining.remove(name);
        active = List.copyOf(remaining);
    }

    /**
     * Makes {@code names} (those present on this layer) the active set: their factors train,
     * the others' are frozen.
     */
    public void setActive(Collection<String> names) {
        List<String> present = new ArrayList<>();
        for (String name : names) {
            if (adapters.containsKey(name)) {
                present.add(name);
            }
        }
        active = List.copyOf(present);
        for (LoraAdapter adapter : adapters.values()) {
            boolean on = active.contains(adapter.name());
            adapter.a().setTrainable(on);
            adapter.b().setTrainable(on);
        }
    }

    /** Turns every adapter off (base output only), unmerging merged ones first, or back on. */
    public void setDisabled(boolean disabled) {
        if (disabled && !merged.isEmpty()) {
            unmerge(new ArrayList<>(merged));
        }
        this.disabled = disabled;
    }

    /** Whether the adapters are switched off. */
    public boolean isDisabled() {
        return disabled;
    }

    /** The adapters by name. */
    public Map<String, LoraAdapter> adapters() {
        return java.util.Collections.unmodifiableMap(adapters);
    }

    /** The adapter named {@code name}, or {@code null}. */
    public LoraAdapter adapter(String name) {
        return adapters.get(name);
    }

    /** The active adapter names. */
    public List<String> active() {
        return active;
    }

    /** The names of the adapters merged into the base weight. */
    public Set<String> merged() {
        return java.util.Collections.unmodifiableSet(merged);
    }

    /**
     * The adapters the forward pass applies: those of the thread's {@link AdapterScope} when one
     * is open, else the active, unmerged ones of an enabled layer.
     *
     * @throws IllegalStateException inside a scope when adapters are merged into this layer
     */
    protected final List<LoraAdapter> unmergedActive() {
        AdapterScope scope = AdapterScope.current();
        if (scope != null) {
            return scoped(scope);
        }
        if (disabled || active.isEmpty()) {
            return List.of();
        }
        List<LoraAdapter> out = new ArrayList<>(active.size());
        for (String name : active) {
            if (!merged.contains(name)) {
                out.add(adapters.get(name));
            }
        }
        return out;
    }

    private List<LoraAdapter> scoped(AdapterScope scope) {
        if (!merged.isEmpty()) {
            throw new IllegalStateException("adapters " + merged + " are merged into the weight of this "
                    + getClass().getSimpleName() + " (" + describeBase() + "); unmerge them before choosing adapters"
                    + " per thread with " + scope);
        }
        List<String> names = scope.adapters();
        if (names.isEmpty()) {
            return List.of();
        }
        List<LoraAdapter> out = new ArrayList<>(names.size());
        for (String name : names) {
            LoraAdapter adapter = adapters.get(name);
            if (adapter != null) {
                out.add(adapter);
            }
        }
        return out;
    }

    /**
     * Whether adapters on this layer can be merged into its weight; an adapter on a grouped
     * convolution cannot (its update is not a grouped kernel).
     */
    public boolean isMergeable() {
        return true;
    }

    /** The base layer, for messages, e.g. {@code Linear(768 -> 768)}. */
    protected abstract String describeBase();

    /** The base weight with the given unmerged adapters added, as a new array; the layer is unchanged. */
    public INDArray mergedWeight(Collection<String> names) {
        INDArray w = baseWeight().value().dup();
        for (String name : names) {
            if (!merged.contains(name)) {
                w.addi(deltaWeight(require(name)).castTo(w.dataType()));
            }
        }
        return w;
    }

    /** Adds the given adapters' updates to the base weight: {@code W ← W + s·ΔW}. */
    public void merge(Collection<String> names) {
        for (String name : names) {
            LoraAdapter adapter = require(name);
            if (!merged.contains(name)) {
                INDArray w = baseWeight().value();
                w.addi(deltaWeight(adapter).castTo(w.dataType())); // may refuse (grouped convolution): then not merged
                merged.add(name);
            }
        }
    }

    /** Sets the base weight to {@code weight} and records {@code names} as merged (for safe merging). */
    void commitMerge(INDArray weight, Collection<String> names) {
        baseWeight().value().assign(weight);
        merged.addAll(names);
    }

    /** Subtracts merged adapters' updates again: {@code W ← W − s·ΔW}. */
    public void unmerge(Collection<String> names) {
        for (String name : names) {
            LoraAdapter adapter = require(name);
            if (merged.remove(name)) {
                INDArray w = baseWeight().value();
                w.subi(deltaWeight(adapter).castTo(w.dataType()));
            }
        }
    }

    /** Reports the adapters' factors under PEFT's in-memory names, e.g. {@code lora_A.default.weight}. */
    public void visitParameters(BiConsumer<String, Parameter> visitor) {
        for (LoraAdapter adapter : adapters.values()) {
            visitor.accept(aName() + "." + adapter.name() + ".weight", adapter.a());
            visitor.accept(bName() + "." + adapter.name() + ".weight", adapter.b());
        }
    }

    private LoraAdapter require(String name) {
        LoraAdapter adapter = adapters.get(name);
        if (adapter == null) {
            throw new IllegalArgumentException("no adapter '" + name + "' on this layer; it has " + adapters.keySet());
        }
        return adapter;
    }
}
