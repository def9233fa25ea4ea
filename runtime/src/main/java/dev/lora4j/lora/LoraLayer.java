package dev.lora4j.lora;

import dev.lora4j.lora.internal.DoraWeights;
import dev.lora4j.lora.internal.LayerMutations;
import dev.lora4j.nn.AdaptableLayer;
import dev.lora4j.nn.LayerAdapters;
import dev.lora4j.nn.Parameter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The LoRA adapters attached to one base layer: several named adapters, one active set at a
 * time, a disabled switch, and merging into the base weight. {@link LoraLinear},
 * {@link LoraEmbedding} and {@link LoraConv2d} supply the shapes and the forward update; they are
 * the only kinds (the class is sealed), so no code outside this package can make a layer's
 * adapters behind {@link LoraModel}'s back.
 *
 * <p>Publicly a layer's adapters are read-only: their names, the active and merged sets, the
 * factors, {@link #deltaWeight} and {@link #mergedWeight}. They change through
 * {@link LoraModel} (adding, switching, deleting, disabling, merging and unmerging adapters across
 * the whole model, with its registry of names and configurations kept in step), which calls this
 * class's package-private operations ({@code addAdapter}, {@code newAdapter}, {@code attach},
 * {@code deleteAdapter}, {@code setActive}, {@code setDisabled}, {@code merge}, {@code unmerge});
 * lora4j's own code in other packages reaches them through the internal
 * {@link dev.lora4j.lora.internal.LayerMutations}.
 *
 * <p><b>Threads.</b> The forward pass may run on many threads while one other thread adds or
 * deletes adapters or switches the active set: the adapter map, the active list and the merged set
 * are immutable snapshots replaced through volatile fields (copy-on-write), so a reader sees either
 * the old or the new state, never a map in the middle of a resize, and an adapter becomes visible
 * only with its final factor values (it is created, given its values, then attached). Merging
 * changes the base weight in place and is not meant to run while other threads compute.
 */
public abstract sealed class LoraLayer implements LayerAdapters permits LoraLinear, LoraEmbedding, LoraConv2d {

    static {
        LayerMutations.register(new LayerMutationsAccess());
    }

    private volatile Map<String, LoraAdapter> adapters = Map.of();
    private volatile Set<String> merged = Set.of();
    /** For each merged DoRA adapter, the weight norm its merge divided by (PEFT caches it the same way). */
    private volatile Map<String, INDArray> mergeNorms = Map.of();
    private volatile List<String> active = List.of();
    private volatile boolean disabled;
    private final AdaptableLayer<?> layer;

    /** Adapters for {@code layer}, which holds them. */
    LoraLayer(AdaptableLayer<?> layer) {
        this.layer = layer;
    }

    /** The base weight that merging changes. */
    public final Parameter baseWeight() {
        return layer.weight();
    }

    /** The shape of factor A of a rank-{@code rank} adapter, as PEFT saves it. */
    public abstract long[] aShape(int rank);

    /** The shape of factor B of a rank-{@code rank} adapter, as PEFT saves it. */
    public abstract long[] bShape(int rank);

    /** New factors A and B for {@code spec}. */
    abstract Parameter[] createFactors(AdapterSettings spec, Random random);

    /** {@code s·ΔW} of one adapter in the base weight's layout. */
    public abstract INDArray deltaWeight(LoraAdapter adapter);

    /** The saved-tensor suffix of A, e.g. {@code lora_A} or {@code lora_embedding_A}. */
    public abstract String aName();

    /** The saved-tensor suffix of B. */
    public abstract String bName();

    /**
     * Whether adapters initialised from the base weight ({@link dev.lora4j.api.LoraInit#PISSA},
     * {@link dev.lora4j.api.LoraInit#OLORA}) can sit on this layer; those that cannot are refused
     * when created. PEFT implements them for Linear layers only (its Conv2d refuses them, its
     * Embedding silently falls back to the default init).
     */
    public boolean supportsBaseDecomposition() {
        return false;
    }

    /**
     * Whether DoRA adapters can sit on this layer; those that cannot are refused when created.
     * Layers that can override this and {@link #outputsAreColumns()}.
     */
    public boolean supportsDora() {
        return false;
    }

    /**
     * Whether the base weight holds the output features in its columns ({@code [in, out]}) rather
     * than its rows: the axis DoRA's norms and magnitudes run along.
     */
    boolean outputsAreColumns() {
        return false;
    }

    /**
     * The shape of a DoRA adapter's magnitude vector, as PEFT saves it: {@code [out]}, one value per
     * output feature (a convolution's is {@code [1, out, 1, 1]}).
     */
    public long[] magnitudeShape() {
        return new long[] {baseWeight().size(outputsAreColumns() ? 1 : 0)};
    }

    /**
     * DoRA's weight norm of {@code adapter}: {@code ‖W + s·B·A‖} per output feature ({@code [out]},
     * the norm over the input dimension, as PEFT's {@code get_weight_norm}), {@code W} being the base
     * weight as it is now (with any merged adapters in it). A value, not part of the autograd graph.
     */
    public INDArray doraWeightNorm(LoraAdapter adapter) {
        INDArray w = baseWeight().value();
        return DoraWeights.norms(w.add(deltaWeight(adapter).castTo(w.dataType())), outputsAreColumns());
    }

    /**
     * Adds an adapter and makes it trainable; it joins the active set only through
     * {@link #setActive}, except that the first adapter becomes active at once.
     */
    LoraAdapter addAdapter(String name, AdapterSettings spec, Random random) {
        LoraAdapter adapter = newAdapter(name, spec, random);
        attach(adapter);
        return adapter;
    }

    /**
     * Creates an adapter for this layer without attaching it: its factors can be given their final
     * values before {@link #attach} makes it visible to the forward pass.
     */
    LoraAdapter newAdapter(String name, AdapterSettings spec, Random random) {
        if (adapters.containsKey(name)) {
            throw new IllegalArgumentException("adapter '" + name + "' already exists on this layer");
        }
        if (spec.dora() && !supportsDora()) {
            throw new IllegalArgumentException("DoRA (use_dora) is implemented for Linear, Embedding and ungrouped"
                    + " Conv2d layers only, not for " + describeBase());
        }
        boolean decomposing = spec.init().changesBaseWeight();
        if (decomposing && !supportsBaseDecomposition()) {
            throw new IllegalArgumentException("init " + spec.init() + " (init_lora_weights " + spec.peftInit()
                    + ") is implemented for Linear layers only, as in PEFT, not for " + describeBase()
                    + "; leave this layer out of the adapter's targets or use another init");
        }
        Parameter[] factors = createFactors(spec, random);
        if (!spec.dora()) {
            return new LoraAdapter(name, spec, factors[0], factors[1], null, random, decomposing);
        }
        // PEFT initialises the magnitude to ‖W + s·B·A‖ with the new factors (‖W‖ when B starts at zero),
        // W being the residual when the init moves part of the base weight into the factors
        LoraAdapter plain = new LoraAdapter(name, spec.withoutDora(), factors[0], factors[1], null, random);
        INDArray norm;
        if (decomposing) {
            INDArray w = baseWeight().value();
            INDArray delta = deltaWeight(plain).castTo(w.dataType());
            norm = DoraWeights.norms(w.sub(delta).addi(delta), outputsAreColumns());
        } else {
            norm = doraWeightNorm(plain);
        }
        Parameter magnitude = new Parameter(norm.reshape(magnitudeShape()));
        return new LoraAdapter(name, spec, factors[0], factors[1], magnitude, random, decomposing);
    }

    /**
     * Attaches an adapter made by {@link #newAdapter} on this layer, publishing it to every thread
     * at once; it joins the active set only through {@link #setActive}, except that the first
     * adapter becomes active at once.
     *
     * <p>An adapter initialised with PiSSA or OLoRA first turns the base weight into the residual
     * {@code W − s·B₀·A₀} of its initial factors (as PEFT's {@code pissa_init}/{@code olora_init}), so
     * that with those factors the output is unchanged; when the factors were given other values
     * before attaching (a saved adapter being loaded, as PEFT's {@code load_adapter} recomputes the
     * init and then loads the saved factors), the layer computes with {@code W − s·B₀·A₀ + s·B·A}.
     * The base weight changes in place: do not attach such an adapter while other threads run the
     * model. Deleting the adapter later leaves the residual in the base weight, as in PEFT.
     */
    synchronized void attach(LoraAdapter adapter) {
        String name = adapter.name();
        if (adapters.containsKey(name)) {
            throw new IllegalArgumentException("adapter '" + name + "' already exists on this layer");
        }
        INDArray[] initial = adapter.initialFactors();
        if (initial != null) {
            INDArray w = baseWeight().value();
            LoraAdapter start = new LoraAdapter(name, adapter.spec().withoutDora(), new Parameter(initial[0]),
                    new Parameter(initial[1]), null, adapter.dropoutRandom());
            w.subi(deltaWeight(start).castTo(w.dataType()));
        }
        boolean on = active.isEmpty() || active.contains(name);
        adapter.setTrainable(on);
        Map<String, LoraAdapter> next = new LinkedHashMap<>(adapters);
        next.put(name, adapter);
        adapters = Collections.unmodifiableMap(next);
        if (active.isEmpty()) {
            setActive(List.of(name));
        }
    }

    /** Removes an adapter (unmerging it first when merged). */
    synchronized void deleteAdapter(String name) {
        LoraAdapter adapter = require(name);
        if (merged.contains(name)) {
            unmerge(List.of(name));
        }
        List<String> remaining = new ArrayList<>(active);
        remaining.remove(name);
        active = List.copyOf(remaining);
        Map<String, LoraAdapter> next = new LinkedHashMap<>(adapters);
        next.remove(adapter.name());
        adapters = Collections.unmodifiableMap(next);
    }

    /**
     * Makes {@code names} (those present on this layer) the active set: their factors train,
     * the others' are frozen.
     */
    synchronized void setActive(Collection<String> names) {
        List<String> present = new ArrayList<>();
        for (String name : names) {
            if (adapters.containsKey(name)) {
                present.add(name);
            }
        }
        List<String> next = List.copyOf(present);
        for (LoraAdapter adapter : adapters.values()) {
            adapter.setTrainable(next.contains(adapter.name()));
        }
        active = next;
    }

    /** Turns every adapter off (base output only), unmerging merged ones first, or back on. */
    synchronized void setDisabled(boolean disabled) {
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
        return adapters;
    }

    /** The adapter named {@code name}, or {@code null}. */
    public @Nullable LoraAdapter adapter(String name) {
        return adapters.get(name);
    }

    /** The active adapter names. */
    public List<String> active() {
        return active;
    }

    /** The names of the adapters merged into the base weight. */
    public Set<String> merged() {
        return merged;
    }

    /**
     * The adapters the forward pass applies: those of the thread's {@link AdapterScope} when one
     * is open, else the active, unmerged ones of an enabled layer.
     *
     * @throws IllegalStateException inside a scope when adapters are merged into this layer
     */
    final List<LoraAdapter> unmergedActive() {
        AdapterScope scope = AdapterScope.current();
        if (scope != null) {
            return scoped(scope);
        }
        List<String> names = active;
        if (disabled || names.isEmpty()) {
            return List.of();
        }
        Set<String> mergedNow = merged;
        Map<String, LoraAdapter> all = adapters;
        List<LoraAdapter> out = new ArrayList<>(names.size());
        for (String name : names) {
            LoraAdapter adapter = all.get(name);
            if (adapter != null && !mergedNow.contains(name)) {
                out.add(adapter);
            }
        }
        return out;
    }

    private List<LoraAdapter> scoped(AdapterScope scope) {
        Set<String> mergedNow = merged;
        if (!mergedNow.isEmpty()) {
            throw new IllegalStateException("adapters " + mergedNow + " are merged into the weight of this "
                    + getClass().getSimpleName() + " (" + describeBase() + "); unmerge them before choosing adapters"
                    + " per thread with " + scope);
        }
        List<String> names = scope.adapters();
        if (names.isEmpty()) {
            return List.of();
        }
        Map<String, LoraAdapter> all = adapters;
        List<LoraAdapter> out = new ArrayList<>(names.size());
        for (String name : names) {
            LoraAdapter adapter = all.get(name);
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
    final String describeBase() {
        return layer.toString();
    }

    /**
     * The base weight with the given unmerged adapters merged, as a new array; the layer is
     * unchanged. Each adapter is merged as {@link LoraModel#merge(String...)} merges it: {@code W ← W +
     * s·ΔW}, or for a DoRA adapter {@code W ← (m / ‖W + s·ΔW‖) ⊙ (W + s·ΔW)} per output feature.
     */
    public INDArray mergedWeight(Collection<String> names) {
        return planMerge(names).weight();
    }

    /**
     * A merge computed but not applied: the new weight and, for each DoRA adapter in it, the
     * weight norm its merge divided by.
     */
    record PlannedMerge(INDArray weight, Map<String, INDArray> doraNorms) {}

    /** Computes merging {@code names} (those not merged yet, in order) into a copy of the base weight. */
    PlannedMerge planMerge(Collection<String> names) {
        INDArray w = baseWeight().value().dup();
        Map<String, INDArray> norms = new LinkedHashMap<>();
        for (String name : names) {
            if (!merged.contains(name)) {
                mergeInto(w, require(name), norms);
            }
        }
        return new PlannedMerge(w, norms);
    }

    /**
     * Merges one adapter into {@code w} in place: {@code W ← W + s·ΔW}, or for a DoRA adapter, as
     * PEFT's {@code merge_safe}, {@code W ← (m / ‖W + s·ΔW‖) ⊙ (W + s·ΔW)} per output feature,
     * recording the norm in {@code norms} (unmerging needs it: it cannot be recomputed from the
     * merged weight).
     */
    private void mergeInto(INDArray w, LoraAdapter adapter, Map<String, INDArray> norms) {
        w.addi(deltaWeight(adapter).castTo(w.dataType())); // may refuse (grouped convolution): then not merged
        if (adapter.isDora()) {
            INDArray norm = DoraWeights.norms(w, outputsAreColumns());
            DoraWeights.scale(w, doraFactor(adapter, norm), outputsAreColumns());
            norms.put(adapter.name(), norm);
        }
    }

    /** PEFT's {@code dora_factor}: {@code m / norm}, {@code [out]}, in the magnitude's dtype. */
    private static INDArray doraFactor(LoraAdapter adapter, INDArray norm) {
        INDArray m = adapter.magnitude().value();
        return m.reshape(m.length()).div(norm.reshape(norm.length()).castTo(m.dataType()));
    }

    /**
     * Merges the given adapters into the base weight, one after another in the order given:
     * {@code W ← W + s·ΔW}; for a DoRA adapter {@code W ← (m / ‖W + s·ΔW‖) ⊙ (W + s·ΔW)}, the norm
     * per output feature (the weight's rows in PyTorch's {@code [out, in]} layout) and kept until
     * {@link #unmerge}.
     */
    synchronized void merge(Collection<String> names) {
        for (String name : names) {
            require(name);
            if (!merged.contains(name)) {
                PlannedMerge plan = planMerge(List.of(name));
                commitMerge(plan, List.of(name));
            }
        }
    }

    private static Set<String> with(Set<String> set, String name, boolean add) {
        Set<String> next = new LinkedHashSet<>(set);
        if (add) {
            next.add(name);
        } else {
            next.remove(name);
        }
        return Collections.unmodifiableSet(next);
    }

    /** Sets the base weight to the planned one and records {@code names} as merged (for safe merging). */
    synchronized void commitMerge(PlannedMerge plan, Collection<String> names) {
        baseWeight().value().assign(plan.weight());
        if (!plan.doraNorms().isEmpty()) {
            Map<String, INDArray> nextNorms = new LinkedHashMap<>(mergeNorms);
            nextNorms.putAll(plan.doraNorms());
            mergeNorms = Collections.unmodifiableMap(nextNorms);
        }
        Set<String> next = new LinkedHashSet<>(merged);
        next.addAll(names);
        merged = Collections.unmodifiableSet(next);
    }

    /**
     * Takes merged adapters out of the base weight again: {@code W ← W − s·ΔW}, or for a DoRA
     * adapter {@code W ← W / (m / norm) − s·ΔW} with the norm kept from its merge (as PEFT's
     * {@code unmerge}). The adapters come out in the reverse of the order they were merged in,
     * whatever the order of {@code names}, as PEFT pops them (a DoRA merge scales what was merged
     * before it).
     */
    synchronized void unmerge(Collection<String> names) {
        for (String name : names) {
            require(name);
        }
        List<String> lastFirst = new ArrayList<>(merged);
        Collections.reverse(lastFirst);
        for (String name : lastFirst) {
            LoraAdapter adapter = require(name);
            if (names.contains(name)) {
                INDArray w = baseWeight().value();
                if (adapter.isDora()) {
                    INDArray norm = mergeNorms.get(name);
                    DoraWeights.unscale(w, doraFactor(adapter, norm), outputsAreColumns());
                    Map<String, INDArray> nextNorms = new LinkedHashMap<>(mergeNorms);
                    nextNorms.remove(name);
                    mergeNorms = Collections.unmodifiableMap(nextNorms);
                }
                w.subi(deltaWeight(adapter).castTo(w.dataType()));
                merged = with(merged, name, false);
            }
        }
    }

    /** Reports the generator each adapter's dropout draws from, as {@code lora_dropout.<adapter>}. */
    public void visitGenerators(BiConsumer<String, Random> visitor) {
        for (LoraAdapter adapter : adapters.values()) {
            if (adapter.spec().dropout() > 0) {
                visitor.accept("lora_dropout." + adapter.name(), adapter.dropoutRandom());
            }
        }
    }

    /**
     * Reports the adapters' parameters under PEFT's in-memory names, e.g. {@code lora_A.default.weight},
     * and {@code lora_magnitude_vector.default.weight} for a DoRA adapter's magnitude.
     */
    public void visitParameters(BiConsumer<String, Parameter> visitor) {
        for (LoraAdapter adapter : adapters.values()) {
            visitor.accept(aName() + "." + adapter.name() + ".weight", adapter.a());
            visitor.accept(bName() + "." + adapter.name() + ".weight", adapter.b());
            if (adapter.isDora()) {
                visitor.accept("lora_magnitude_vector." + adapter.name() + ".weight", adapter.magnitude());
            }
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
