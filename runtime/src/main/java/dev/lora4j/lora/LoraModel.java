package dev.lora4j.lora;

import dev.lora4j.api.BiasMode;
import dev.lora4j.lora.internal.AdapterInjector;
import dev.lora4j.lora.internal.ModulesToSave;
import dev.lora4j.nn.AdaptableLayer;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.nn.internal.AdapterAttachments;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A model with LoRA adapters: PEFT's {@code PeftModel} for a lora4j {@link Module}.
 *
 * <p>{@link #wrap} freezes every base weight and attaches the adapter {@code default} to the
 * targeted layers; the model object itself is adapted in place and keeps its own forward code.
 * Several adapters can live on one model, one active set at a time. Merging folds the active
 * adapters into the base weights ({@code W ← W + s·B·A}) so inference costs what the base costs;
 * unmerging takes them out again.
 *
 * <pre>{@code
 * LoraModel<MyModel> lora = LoraModel.wrap(new MyModel(), LoraConfig.builder()
 *         .rank(8).alpha(16).targetModules("query", "value").build());
 * System.out.println(lora.summary());
 * // ... train lora.model() ...
 * lora.merge();
 * }</pre>
 *
 * @param <M> the model's type
 */
public final class LoraModel<M extends Module> {

    /** The name of the first adapter, as in PEFT. */
    public static final String DEFAULT_ADAPTER = "default";

    private final M model;
    /** Copy-on-write: replaced whole, so threads checking adapter names never see it mid-update. */
    private volatile Map<String, LoraConfig> configs = Map.of();
    private final ModulesToSave modulesToSave = new ModulesToSave();
    private volatile List<String> active = List.of();
    private volatile boolean disabled;
    private volatile boolean unloaded;

    private LoraModel(M model) {
        this.model = model;
    }

    /**
     * Freezes {@code model} and attaches an adapter named {@code adapterName} ({@code Lora.wrap} is
     * this with {@link #DEFAULT_ADAPTER}).
     */
    public static <M extends Module> LoraModel<M> wrap(M model, String adapterName, LoraConfig config) {
        model.freeze();
        LoraModel<M> lora = new LoraModel<>(model);
        lora.addAdapter(adapterName, config);
        lora.setActiveAdapters(adapterName);
        return lora;
    }

    /**
     * Freezes {@code model} and attaches adapter {@code adapterName} to exactly the given layers,
     * each with its own spec; {@code config} is recorded as the adapter's configuration (bias mode
     * and {@code modules_to_save} apply as in {@link #wrap(Module, String, LoraConfig)}). Loaders use
     * this to rebuild an adapter whose layers are known. Everything is checked before the model
     * changes.
     *
     * @param layers specs by module path, in the order to attach
     * @throws IllegalArgumentException for a path that is not a Linear, Embedding or Conv2d of the model
     */
    public static <M extends Module> LoraModel<M> wrap(M model, String adapterName, LoraConfig config,
            Map<String, AdapterSettings> layers) {
        checkName(adapterName);
        checkLayers(model.namedModules(), adapterName, layers);
        model.freeze();
        LoraModel<M> lora = new LoraModel<>(model);
        lora.addAdapter(adapterName, config, layers);
        lora.setActiveAdapters(adapterName);
        return lora;
    }

    /**
     * Takes over a model whose layers already carry adapters (attached by the agent or by
     * annotation injection; {@code Lora.adopt} is the front door): every parameter that is not a
     * LoRA factor is frozen, the adapters' settings are described as one {@link LoraConfig} per
     * adapter name (targets as exact module paths, per-module rank and alpha as patterns), and the
     * first adapter name becomes active. The modules at {@code modulesToSave} (e.g. a new
     * classification head) train in full with that adapter, as PEFT's {@code modules_to_save}: they
     * are unfrozen, get their per-adapter copy, and are saved with the adapter.
     *
     * @param modulesToSave module names or paths, matched as {@link LoraConfig.Builder#modulesToSave}
     *     matches them; may be empty
     * @throws IllegalArgumentException when the model carries no adapter, or a name matches no module
     */
    public static <M extends Module> LoraModel<M> adopt(M model, List<String> modulesToSave) {
        LoraModel<M> lora = adoptLayers(model);
        String first = lora.configs.keySet().iterator().next();
        if (modulesToSave.isEmpty()) {
            lora.setActiveAdapters(first);
            return lora;
        }
        LoraConfig config = lora.configs.get(first).toBuilder().modulesToSave(modulesToSave.toArray(String[]::new))
                .build();
        for (String name : modulesToSave) {
            LoraConfig only = config.toBuilder().modulesToSave(name).build();
            if (model.namedModules().keySet().stream().noneMatch(path -> !path.isEmpty() && only.savesModule(path))) {
                throw new IllegalArgumentException("modules_to_save '" + name + "' matches no module of "
                        + model.getClass().getName() + "; modules: " + model.namedModules().keySet());
            }
        }
        return registerAdopted(lora, first, config);
    }

    /**
     * Like {@link #adopt(Module, List)}, for a model whose adapter {@code adapterName} was attached as
     * {@code config} says (by the agent, from a target spec): {@code config} is recorded as that
     * adapter's configuration, its bias mode and {@code modules_to_save} apply as in {@link #wrap},
     * and it becomes the active adapter.
     *
     * @throws IllegalArgumentException when no layer carries an adapter named {@code adapterName}
     */
    public static <M extends Module> LoraModel<M> adopt(M model, String adapterName, LoraConfig config) {
        return registerAdopted(adoptLayers(model), adapterName, config);
    }

    private static <M extends Module> LoraModel<M> registerAdopted(LoraModel<M> lora, String adapterName,
            LoraConfig config) {
        M model = lora.model;
        if (!lora.configs.containsKey(adapterName)) {
            throw new IllegalArgumentException(model.getClass().getName() + " carries no adapter named '" + adapterName
                    + "'; adapters: " + lora.configs.keySet());
        }
        Set<String> paths = new java.util.LinkedHashSet<>();
        lora.layers().forEach((path, layer) -> {
            if (layer.adapter(adapterName) != null) {
                paths.add(path);
            }
        });
        lora.register(adapterName, config, paths);
        lora.setActiveAdapters(adapterName);
        return lora;
    }

    private static <M extends Module> LoraModel<M> adoptLayers(M model) {
        LoraModel<M> lora = new LoraModel<>(model);
        Map<String, LoraLayer> layers = lora.layers();
        if (layers.isEmpty()) {
            throw new IllegalArgumentException(model.getClass().getName()
                    + " carries no adapter: annotate layer fields with @LoRA (and run with the agent or inject),"
                    + " or wrap it with a LoraConfig");
        }
        Set<Parameter> factors = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        layers.values().forEach(layer -> layer.visitParameters((name, p) -> factors.add(p)));
        model.parameters().forEach(p -> {
            if (!factors.contains(p)) {
                p.setTrainable(false);
            }
        });
        lora.configs = Collections.unmodifiableMap(new LinkedHashMap<>(ConfigDescription.describe(layers, model.namedModules().keySet())));
        return lora;
    }

    /** The adapted model (the same object that was wrapped). */
    public M model() {
        return model;
    }

    /**
     * Adds another adapter with its own targets and settings. It starts inactive (frozen) unless
     * it is the first; {@link #setActiveAdapters} switches to it.
     */
    public void addAdapter(String name, LoraConfig config) {
        checkUsable();
        checkName(name);
        if (configs.containsKey(name)) {
            throw new IllegalArgumentException("adapter '" + name + "' already exists; adapters: " + configs.keySet());
        }
        Map<String, LoraLayer> adapted = AdapterInjector.inject(model, name, config);
        register(name, config, adapted.keySet());
    }

    /**
     * Adds an adapter on exactly the given layers, each with its own spec (rank, alpha, ...);
     * {@code config} is recorded as its configuration. Starts inactive unless it is the first.
     * Everything is checked before the model changes.
     *
     * @param layers specs by module path, in the order to attach
     * @throws IllegalArgumentException for an existing name, an empty map, or a path that is not a
     *     Linear, Embedding or Conv2d of the model
     */
    public void addAdapter(String name, LoraConfig config, Map<String, AdapterSettings> layers) {
        addAdapter(name, config, layers, Map.of());
    }

    /**
     * Like {@link #addAdapter(String, LoraConfig, Map)}, with the factors' values: {@code {A, B}} by
     * module path, or {@code {A, B, m}} for a DoRA adapter, {@code m} its magnitude vector (without
     * {@code m} a DoRA adapter's magnitude is {@code ‖W + s·B·A‖} of the given factors, as PEFT
     * initialises it); copied; layers not in the map keep their initialisation. The adapter is
     * published only once complete: every layer's factors hold their values before any layer
     * shows the adapter, and its name becomes known to {@link #scope} and {@link #config} last, so
     * threads running the model meanwhile never compute with a half-loaded adapter.
     *
     * @throws IllegalArgumentException as {@link #addAdapter(String, LoraConfig, Map)}, or for values
     *     of the wrong shape
     */
    public synchronized void addAdapter(String name, LoraConfig config, Map<String, AdapterSettings> layers,
            Map<String, INDArray[]> values) {
        checkUsable();
        checkName(name);
        if (configs.containsKey(name)) {
            throw new IllegalArgumentException("adapter '" + name + "' already exists; adapters: " + configs.keySet());
        }
        Map<String, Module> modules = model.namedModules();
        checkLayers(modules, name, layers);
        Random random = config.seed() == null ? Init.random() : new dev.lora4j.nn.CheckpointableRandom(config.seed());
        Map<String, LoraAdapter> prepared = new LinkedHashMap<>();
        layers.forEach((path, spec) -> {
            LoraAdapter adapter = AdapterInjector.prepare(modules.get(path), path, name, spec, random);
            INDArray[] ab = values.get(path);
            if (ab != null) {
                assign(adapter.a().value(), ab[0], path + " " + name + " A");
                assign(adapter.b().value(), ab[1], path + " " + name + " B");
                if (adapter.isDora()) {
                    // without a magnitude given, PEFT's initial one: ‖W + s·B·A‖ of the given factors
                    INDArray m = ab.length > 2 ? ab[2] : LoraLayers.of((AdaptableLayer<?>) modules.get(path))
                            .doraWeightNorm(adapter).reshape(adapter.magnitude().shape());
                    assign(adapter.magnitude().value(), m, path + " " + name + " lora_magnitude_vector");
                } else if (ab.length > 2) {
                    throw new IllegalArgumentException(path + ": a magnitude vector was given for adapter '" + name
                            + "', which is not a DoRA adapter");
                }
            }
            prepared.put(path, adapter);
        });
        prepared.forEach((path, adapter) -> LoraLayers.of((AdaptableLayer<?>) modules.get(path)).attach(adapter));
        register(name, config, layers.keySet());
    }

    /**
     * Gives the existing adapter {@code name} new factor values and a new recorded configuration,
     * as PEFT's {@code load_adapter} does for a name the model already has: whatever the adapter
     * held (freshly initialised by the agent or by {@code inject}, or trained) is overwritten. The
     * adapter must already sit on exactly {@code layers}, each with the same rank, alpha, rsLoRA
     * setting and dropout, and must not be merged; the modules it already trains in full must be in
     * {@code config}'s {@code modules_to_save} (which may add more: they are registered here, their
     * values are set by {@link #setModuleToSaveValues}). Everything is checked before anything
     * changes. The factors keep their identity (an optimizer holding them stays valid); their
     * values are written in place, so do not call this while other threads run the model.
     *
     * @param layers specs by module path, as the values were made with
     * @param values {@code {A, B}} by module path, one for every layer; {@code {A, B, m}} when the
     *     adapter is a DoRA adapter
     * @throws IllegalArgumentException naming the layer and the setting that differ, a missing or
     *     misshapen value, or a module to save the new configuration drops
     * @throws IllegalStateException when the adapter is merged into the base weights
     */
    public synchronized void replaceAdapterValues(String name, LoraConfig config, Map<String, AdapterSettings> layers,
            Map<String, INDArray[]> values) {
        checkUsable();
        config(name);
        Map<String, LoraLayer> carrying = layers(name);
        if (!carrying.keySet().equals(layers.keySet())) {
            List<String> missing = new ArrayList<>(carrying.keySet());
            missing.removeAll(layers.keySet());
            List<String> extra = new ArrayList<>(layers.keySet());
            extra.removeAll(carrying.keySet());
            throw new IllegalArgumentException("adapter '" + name + "' sits on " + carrying.keySet() + "; the new values are for "
                    + layers.keySet() + (missing.isEmpty() ? "" : " (missing " + missing + ")")
                    + (extra.isEmpty() ? "" : " (not adapted by '" + name + "': " + extra + ")"));
        }
        carrying.forEach((path, layer) -> {
            if (layer.merged().contains(name)) {
                throw new IllegalStateException("adapter '" + name + "' is merged into " + path
                        + ".weight; unmerge it before replacing its values");
            }
            checkSameSettings(name, path, layer.adapter(name).spec(), layers.get(path));
            LoraAdapter adapter = layer.adapter(name);
            INDArray[] ab = values.get(path);
            if (ab == null || ab.length != (adapter.isDora() ? 3 : 2)) {
                throw new IllegalArgumentException(path + ": no " + (adapter.isDora() ? "{A, B, m}" : "{A, B}")
                        + " values given for adapter '" + name + "'");
            }
            checkShape(adapter.a().value(), ab[0], path + " " + name + " A");
            checkShape(adapter.b().value(), ab[1], path + " " + name + " B");
            if (adapter.isDora()) {
                checkShape(adapter.magnitude().value(), ab[2], path + " " + name + " lora_magnitude_vector");
            }
        });
        for (String path : modulesToSave(name)) {
            if (!config.savesModule(path)) {
                throw new IllegalArgumentException("adapter '" + name + "' trains " + path
                        + " in full (modules_to_save), but the new configuration does not list it");
            }
        }
        carrying.forEach((path, layer) -> {
            LoraAdapter adapter = layer.adapter(name);
            adapter.a().value().assign(values.get(path)[0]);
            adapter.b().value().assign(values.get(path)[1]);
            if (adapter.isDora()) {
                adapter.magnitude().value().assign(values.get(path)[2]);
            }
        });
        register(name, config, carrying.keySet());
    }

    private static void checkSameSettings(String name, String path, AdapterSettings has, AdapterSettings given) {
        List<String> differences = new ArrayList<>();
        if (has.rank() != given.rank()) {
            differences.add("r " + given.rank() + " (the model's: " + has.rank() + ")");
        }
        if (Double.compare(has.alpha(), given.alpha()) != 0) {
            differences.add("alpha " + given.alpha() + " (the model's: " + has.alpha() + ")");
        }
        if (has.rslora() != given.rslora()) {
            differences.add("rslora " + given.rslora() + " (the model's: " + has.rslora() + ")");
        }
        if (Double.compare(has.dropout(), given.dropout()) != 0) {
            differences.add("dropout " + given.dropout() + " (the model's: " + has.dropout() + ")");
        }
        if (has.dora() != given.dora()) {
            differences.add("use_dora " + given.dora() + " (the model's: " + has.dora() + ")");
        }
        // PiSSA/OLoRA factors apply to the residual their own init left in the base
        if ((has.init().changesBaseWeight() || given.init().changesBaseWeight()) && !has.peftInit().equals(given.peftInit())) {
            differences.add("init_lora_weights " + given.peftInit() + " (the model's: " + has.peftInit() + ")");
        }
        if (!differences.isEmpty()) {
            throw new IllegalArgumentException(path + ": the values are for " + String.join(", ", differences)
                    + ", which adapter '" + name + "' there does not have; load them under another name to keep both");
        }
    }

    private static void checkShape(INDArray target, INDArray value, String what) {
        if (!Arrays.equals(target.shape(), value.shape())) {
            throw new IllegalArgumentException(what + ": values have shape " + Arrays.toString(value.shape())
                    + ", the factor has " + Arrays.toString(target.shape()));
        }
    }

    private static void assign(INDArray target, INDArray value, String what) {
        checkShape(target, value, what);
        target.assign(value);
    }

    private void register(String name, LoraConfig config, Set<String> adaptedPaths) {
        Map<String, LoraConfig> next = new LinkedHashMap<>(configs);
        next.put(name, config);
        applyBiasMode(config.bias(), adaptedPaths);
        model.namedModules().forEach((path, module) -> {
            if (!path.isEmpty() && config.savesModule(path)) {
                modulesToSave.register(path, module, name);
            }
        });
        List<String> keep = active.isEmpty() ? List.of(name) : active;
        layers().values().forEach(layer -> layer.setActive(keep));
        configs = Collections.unmodifiableMap(next);
    }

    private static void checkLayers(Map<String, Module> modules, String name, Map<String, AdapterSettings> layers) {
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("adapter '" + name + "' needs at least one layer");
        }
        layers.forEach((path, spec) -> {
            Module module = modules.get(path);
            if (module == null || path.isEmpty()) {
                throw new IllegalArgumentException("the model has no module '" + path + "'");
            }
            if (!(module instanceof AdaptableLayer<?> adaptable)) {
                throw new IllegalArgumentException(path + " is a " + module.getClass().getName()
                        + ", which cannot be adapted; LoRA applies to Linear, Embedding and Conv2d layers");
            }
            LoraLayer layer = LoraLayers.of(adaptable);
            if (layer != null && layer.adapter(name) != null) {
                throw new IllegalArgumentException(path + " already has an adapter named '" + name + "'");
            }
            java.util.Objects.requireNonNull(spec, "spec for " + path);
        });
    }

    /**
     * Adds adapter {@code newName} combining {@code adapters} with {@code weights}, as PEFT's
     * {@code add_weighted_adapter} does; see {@link CombinationType} for the math. The new adapter
     * has scaling 1 on every layer (its weights carry the sources' scalings), starts inactive, and
     * has no {@code modules_to_save} and bias mode none. The {@link CombinationType#SVD} rank is
     * the largest source rank. Like {@link #addAdapter(String, LoraConfig, Map, Map)}, the new
     * adapter is published complete: its name is known only once every layer holds its factors,
     * so threads serving the model meanwhile never compute with a half-built combination.
     *
     * @throws IllegalArgumentException for unknown or repeated names, an existing {@code newName},
     *     a weight count that differs from the adapter count, or (LINEAR) unequal ranks on a layer
     */
    public void addWeightedAdapter(List<String> adapters, List<Double> weights, String newName,
            CombinationType combination) {
        addWeightedAdapter(adapters, weights, newName, combination, 0);
    }

    /**
     * Like {@link #addWeightedAdapter(List, List, String, CombinationType)}, with the target rank of
     * an {@link CombinationType#SVD} combination ({@code 0}: the largest source rank; ignored by the
     * other types).
     */
    public synchronized void addWeightedAdapter(List<String> adapters, List<Double> weights, String newName,
            CombinationType combination, int svdRank) {
        checkUsable();
        checkName(newName);
        if (configs.containsKey(newName)) {
            throw new IllegalArgumentException("adapter '" + newName + "' already exists; adapters: " + configs.keySet());
        }
        for (String adapter : adapters) {
            config(adapter);
        }
        WeightedAdapters.Result result = WeightedAdapters.combine(layers(), adapters, weights, combination, svdRank,
                adapters.isEmpty() ? null : configs.get(adapters.get(0)));
        addAdapter(newName, result.config(), result.specs(), result.factors());
    }

    /**
     * Opens a per-thread {@link AdapterScope} applying {@code adapters} (none: base output) on the
     * calling thread, after checking them against this model.
     *
     * @throws IllegalArgumentException for an unknown adapter name
     * @throws IllegalStateException when adapters are merged or the model has {@code modules_to_save}
     *     (whose weights are swapped model-wide, so they cannot differ per thread)
     */
    public AdapterScope scope(String... adapters) {
        checkUsable();
        checkKnown(adapters);
        for (Map.Entry<String, LoraLayer> entry : layers().entrySet()) {
            if (!entry.getValue().merged().isEmpty()) {
                throw new IllegalStateException("adapters " + entry.getValue().merged() + " are merged into "
                        + entry.getKey() + "; unmerge before choosing adapters per thread");
            }
        }
        if (!modulesToSave.modules().isEmpty()) {
            throw new IllegalStateException("modules_to_save " + modulesToSave.modules().keySet()
                    + " hold one adapter's weights for all threads; per-thread adapter choice needs a model without them");
        }
        return AdapterScope.use(adapters);
    }

    /**
     * Opens a per-thread {@link AdapterScope} pinned to the model's active adapters as they are now
     * (read once): a request served inside it computes with one consistent set of adapters even when
     * another thread calls {@link #setActiveAdapters} meanwhile, which switches layers one by one.
     * An empty scope (base output) when adapters are disabled.
     *
     * @throws IllegalStateException as {@link #scope}
     */
    public AdapterScope scopeActive() {
        List<String> now = disabled ? List.of() : active;
        return scope(now.toArray(String[]::new));
    }

    /** Makes {@code names} the active adapters: they apply in the forward pass and train. */
    public synchronized void setActiveAdapters(String... names) {
        checkUsable();
        if (names.length == 0) {
            throw new IllegalArgumentException("name at least one adapter; use disableAdapters() to turn them off");
        }
        for (String name : names) {
            if (!configs.containsKey(name)) {
                throw new IllegalArgumentException("no adapter named '" + name + "'; adapters: " + configs.keySet());
            }
        }
        active = List.of(names);
        layers().values().forEach(layer -> layer.setActive(active));
        if (!disabled) {
            modulesToSave.activate(names[0]);
        }
    }

    /** The active adapter names. */
    public List<String> activeAdapters() {
        return active;
    }

    /** Every adapter name, in the order added. */
    public Set<String> adapterNames() {
        return configs.keySet();
    }

    /** The configuration an adapter was created with. */
    public LoraConfig config(String adapter) {
        LoraConfig config = configs.get(adapter);
        if (config == null) {
            throw new IllegalArgumentException("no adapter named '" + adapter + "'; adapters: " + configs.keySet());
        }
        return config;
    }

    /**
     * Removes an adapter from every layer (unmerging it first where merged). A PiSSA or OLoRA
     * adapter leaves the residual {@code W − s·B₀·A₀} in the base weights, as PEFT's {@code
     * delete_adapter} does.
     */
    public void deleteAdapter(String name) {
        config(name);
        for (LoraLayer layer : layers().values()) {
            if (layer.adapter(name) != null) {
                layer.deleteAdapter(name);
            }
        }
        Map<String, LoraConfig> next = new LinkedHashMap<>(configs);
        next.remove(name);
        configs = Collections.unmodifiableMap(next);
        modulesToSave.delete(name);
        List<String> remaining = new ArrayList<>(active);
        remaining.remove(name);
        active = List.copyOf(remaining);
    }

    /** Switches every adapter off: the model computes its base output (merged adapters are unmerged). */
    public void disableAdapters() {
        checkUsable();
        layers().values().forEach(layer -> layer.setDisabled(true));
        modulesToSave.activate(null);
        disabled = true;
    }

    /** Switches the active adapters back on. */
    public void enableAdapters() {
        checkUsable();
        layers().values().forEach(layer -> layer.setDisabled(false));
        if (!active.isEmpty()) {
            modulesToSave.activate(active.get(0));
        }
        disabled = false;
    }

    /** Whether adapters are switched off. */
    public boolean isDisabled() {
        return disabled;
    }

    /** The layers carrying adapters, by module path. */
    public Map<String, LoraLayer> layers() {
        Map<String, LoraLayer> layers = new LinkedHashMap<>();
        model.namedModules().forEach((path, module) -> {
            LoraLayer layer = module instanceof AdaptableLayer<?> adaptable ? LoraLayers.of(adaptable) : null;
            if (layer != null) {
                layers.put(path, layer);
            }
        });
        return layers;
    }

    /** The modules trained in full with the adapters, by path. */
    public Map<String, Module> modulesToSave() {
        return Collections.unmodifiableMap(modulesToSave.modules());
    }

    /** The paths of the modules {@code adapter} trains in full and saves (its {@code modules_to_save}). */
    public List<String> modulesToSave(String adapter) {
        config(adapter);
        List<String> out = new ArrayList<>();
        modulesToSave.modules().keySet().forEach(path -> {
            if (modulesToSave.owns(adapter, path)) {
                out.add(path);
            }
        });
        return out;
    }

    /**
     * {@code adapter}'s own values of the module to save at {@code path}, by parameter name
     * (copies): the live values when {@code adapter} is the one in the module, else its stored copy
     * (the original weights when it has none yet).
     */
    public Map<String, INDArray> moduleToSaveValues(String adapter, String path) {
        config(adapter);
        return modulesToSave.values(adapter, path);
    }

    /**
     * Sets {@code adapter}'s values of the module to save at {@code path} (copied); they show in the
     * module whenever {@code adapter} is the first active one.
     *
     * @throws IllegalArgumentException unless every parameter of the module is given
     */
    public void setModuleToSaveValues(String adapter, String path, Map<String, INDArray> values) {
        checkUsable();
        config(adapter);
        modulesToSave.setValues(adapter, path, values);
    }

    /** The layers carrying {@code adapter}, by module path. */
    public Map<String, LoraLayer> layers(String adapter) {
        config(adapter);
        Map<String, LoraLayer> out = new LinkedHashMap<>();
        layers().forEach((path, layer) -> {
            if (layer.adapter(adapter) != null) {
                out.put(path, layer);
            }
        });
        return out;
    }

    /** Folds the active adapters into the base weights: {@code W ← W + s·B·A}. */
    public void merge() {
        merge(active.toArray(String[]::new));
    }

    /**
     * Folds the named adapters into the base weights.
     *
     * @throws UnsupportedOperationException before any change when one of them sits on a grouped
     *     convolution
     */
    public void merge(String... adapters) {
        checkUsable();
        checkKnown(adapters);
        List<String> names = Arrays.asList(adapters);
        checkMergeable(names);
        layers().values().forEach(layer -> layer.merge(present(layer, names)));
    }

    /** Refuses before anything changes when a layer carrying one of {@code names} cannot merge. */
    private void checkMergeable(List<String> names) {
        layers().forEach((path, layer) -> {
            if (!layer.isMergeable() && !present(layer, names).isEmpty()) {
                throw new UnsupportedOperationException("cannot merge " + present(layer, names) + " into " + path + " ("
                        + layer.describeBase() + "): adapters on a grouped convolution do not merge (as in PEFT);"
                        + " the model is unchanged");
            }
        });
    }

    /**
     * Like {@link #merge()}, but first computes every merged weight and checks it: when any would
     * hold NaN or infinity, nothing changes and the error names the layer.
     *
     * @throws IllegalStateException naming the first layer whose merged weight is not finite
     * @throws UnsupportedOperationException when an active adapter sits on a grouped convolution
     */
    public void safeMerge() {
        checkUsable();
        checkMergeable(active);
        Map<LoraLayer, LoraLayer.PlannedMerge> mergedWeights = new LinkedHashMap<>();
        for (Map.Entry<String, LoraLayer> entry : layers().entrySet()) {
            LoraLayer layer = entry.getValue();
            List<String> names = present(layer, active);
            LoraLayer.PlannedMerge merged = layer.planMerge(names);
            if (!isFinite(merged.weight())) {
                throw new IllegalStateException("safe merge refused: merging " + names + " into " + entry.getKey()
                        + ".weight would give NaN or infinite values; the model is unchanged");
            }
            mergedWeights.put(layer, merged);
        }
        mergedWeights.forEach((layer, plan) -> layer.commitMerge(plan, present(layer, active)));
    }

    /**
     * Takes every merged adapter out of the base weights again: {@code W ← W − s·B·A}; a DoRA
     * adapter's scaling is undone first (see {@link LoraLayer#unmerge}).
     */
    public void unmerge() {
        checkUsable();
        layers().values().forEach(layer -> layer.unmerge(new ArrayList<>(layer.merged())));
    }

    /**
     * Removes every adapter without merging (merged ones are unmerged first) and gives back the
     * base model, frozen as it was wrapped. This LoraModel cannot be used afterwards.
     */
    public M unload() {
        unmerge();
        modulesToSave.activate(null);
        detachAll();
        return model;
    }

    /** Merges the active adapters (safely) and removes all adapters; gives back the plain model. */
    public M mergeAndUnload() {
        safeMerge();
        detachAll();
        return model;
    }

    /** Counts trainable and all parameters. */
    public ParameterSummary summary() {
        return ParameterSummary.of(model);
    }

    private void detachAll() {
        for (Module module : model.namedModules().values()) {
            if (module instanceof AdaptableLayer<?> adaptable) {
                AdapterAttachments.detach(adaptable);
            }
        }
        unloaded = true;
    }

    private void applyBiasMode(BiasMode mode, Set<String> adaptedPaths) {
        if (mode == BiasMode.NONE) {
            return;
        }
        model.namedModules().forEach((path, module) -> {
            if (mode == BiasMode.ALL || adaptedPaths.contains(path)) {
                Parameter bias = module.directParameters().get("bias");
                if (bias != null) {
                    bias.setTrainable(true);
                }
            }
        });
    }

    private static List<String> present(LoraLayer layer, List<String> names) {
        List<String> out = new ArrayList<>();
        for (String name : names) {
            if (layer.adapter(name) != null) {
                out.add(name);
            }
        }
        return out;
    }

    private void checkKnown(String... adapters) {
        for (String name : adapters) {
            config(name);
        }
    }

    private void checkUsable() {
        if (unloaded) {
            throw new IllegalStateException("the adapters were unloaded; wrap the model again to add adapters");
        }
    }

    private static void checkName(String name) {
        if (name == null || name.isBlank() || name.contains(".") || name.contains("/")) {
            throw new IllegalArgumentException("adapter name '" + name + "' must be non-empty and contain no '.' or '/'");
        }
    }

    static boolean isFinite(INDArray array) {
        return !array.isInfinite().any() && !array.isNaN().any();
    }
}
