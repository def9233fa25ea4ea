package dev.lora4j.lora.internal;

import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The modules trained in full alongside the adapters (PEFT's {@code modules_to_save}). Each
 * adapter that lists a module has its own copy of its weights: the live module holds the live
 * adapter's copy, and switching adapters (or disabling them) swaps the values. A module shows its
 * original weights, frozen, when no adapter is live or the live adapter does not list it (as
 * PEFT's {@code ModulesToSaveWrapper} falls back to the original module).
 */
public final class ModulesToSave {

    private final Map<String, Module> modules = new LinkedHashMap<>();
    private final Map<String, INDArrayMap> original = new HashMap<>();
    private final Map<String, Set<String>> owners = new HashMap<>();
    private final Map<String, Map<String, INDArrayMap>> perAdapter = new HashMap<>();
    private String live;

    /**
     * Registers {@code module} at {@code path} as one that {@code adapter} trains and saves,
     * recording its original weights the first time. The adapter's copy starts as the original
     * weights (or, when {@code adapter} is live, as the module's current values).
     */
    public void register(String path, Module module, String adapter) {
        if (modules.putIfAbsent(path, module) == null) {
            original.put(path, INDArrayMap.copyOf(module));
        }
        owners.computeIfAbsent(path, k -> new LinkedHashSet<>()).add(adapter);
        if (adapter.equals(live)) {
            module.parameters().forEach(p -> p.setTrainable(true));
        }
    }

    /** The registered modules by path. */
    public Map<String, Module> modules() {
        return modules;
    }

    /** Whether {@code adapter} lists the module at {@code path}. */
    public boolean owns(String adapter, String path) {
        return owners.getOrDefault(path, Set.of()).contains(adapter);
    }

    /**
     * Puts {@code adapter}'s copies in the live modules it lists and the original weights in the
     * others ({@code null}: originals everywhere); exactly the modules with the adapter's copy train.
     */
    public void activate(String adapter) {
        if (Objects.equals(adapter, live)) {
            return;
        }
        saveLive();
        modules.forEach((path, module) -> {
            boolean own = adapter != null && owns(adapter, path);
            stored(own ? adapter : null, path).assignTo(module);
            module.parameters().forEach(p -> p.setTrainable(own));
        });
        live = adapter;
    }

    /** Forgets an adapter's copies; when it is live, the original weights come back. */
    public void delete(String adapter) {
        if (adapter.equals(live)) {
            live = null;
            modules.forEach((path, module) -> {
                original.get(path).assignTo(module);
                module.parameters().forEach(p -> p.setTrainable(false));
            });
        }
        perAdapter.remove(adapter);
        owners.values().forEach(set -> set.remove(adapter));
    }

    /**
     * {@code adapter}'s values of the module at {@code path} by parameter name (copies): the live
     * values when {@code adapter} is live, else its stored copy, else the original values.
     */
    public Map<String, INDArray> values(String adapter, String path) {
        Module module = require(path);
        if (owns(adapter, path) && adapter.equals(live)) {
            return INDArrayMap.copyOf(module).values();
        }
        return INDArrayMap.copy(stored(owns(adapter, path) ? adapter : null, path).values()).values();
    }

    /**
     * Sets {@code adapter}'s values of the module at {@code path} (copied; every parameter of the
     * module must be given): into the live module when {@code adapter} is live, else into its copy.
     *
     * @throws IllegalArgumentException when {@code adapter} does not list the module, or the
     *     parameter names differ
     */
    public void setValues(String adapter, String path, Map<String, INDArray> values) {
        Module module = require(path);
        if (!owns(adapter, path)) {
            throw new IllegalArgumentException("adapter '" + adapter + "' does not list '" + path + "' in modules_to_save");
        }
        Map<String, Parameter> parameters = module.namedParameters();
        if (!parameters.keySet().equals(values.keySet())) {
            throw new IllegalArgumentException("module '" + path + "' has parameters " + parameters.keySet()
                    + ", values were given for " + values.keySet());
        }
        INDArrayMap copy = INDArrayMap.copy(values);
        if (adapter.equals(live)) {
            copy.assignTo(module);
        } else {
            perAdapter.computeIfAbsent(adapter, k -> new HashMap<>()).put(path, copy);
        }
    }

    /** The adapter whose copies are in the live modules, or {@code null}. */
    public String live() {
        return live;
    }

    private void saveLive() {
        if (live == null) {
            return;
        }
        Map<String, INDArrayMap> saved = perAdapter.computeIfAbsent(live, k -> new HashMap<>());
        modules.forEach((path, module) -> {
            if (owns(live, path)) {
                saved.put(path, INDArrayMap.copyOf(module));
            }
        });
    }

    /** {@code adapter}'s stored copy, or the original values ({@code adapter} null or without a copy). */
    private INDArrayMap stored(String adapter, String path) {
        Map<String, INDArrayMap> copies = adapter == null ? null : perAdapter.get(adapter);
        return copies != null && copies.containsKey(path) ? copies.get(path) : original.get(path);
    }

    private Module require(String path) {
        Module module = modules.get(path);
        if (module == null) {
            throw new IllegalArgumentException("'" + path + "' is not a module to save; they are " + modules.keySet());
        }
        return module;
    }

    /** A module's parameter values by name. */
    private record INDArrayMap(Map<String, INDArray> values) {
        static INDArrayMap copyOf(Module module) {
            Map<String, INDArray> copy = new LinkedHashMap<>();
            for (Map.Entry<String, Parameter> e : module.namedParameters().entrySet()) {
                copy.put(e.getKey(), e.getValue().value().dup());
            }
            return new INDArrayMap(copy);
        }

        static INDArrayMap copy(Map<String, INDArray> values) {
            Map<String, INDArray> copy = new LinkedHashMap<>();
            values.forEach((name, value) -> copy.put(name, value.dup()));
            return new INDArrayMap(copy);
        }

        void assignTo(Module module) {
            module.namedParameters().forEach((name, p) -> p.value().assign(values.get(name)));
        }
    }
}
