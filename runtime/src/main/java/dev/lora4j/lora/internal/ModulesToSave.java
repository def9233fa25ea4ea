package dev.lora4j.lora.internal;

import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The modules trained in full alongside the adapters (PEFT's {@code modules_to_save}). Each
 * adapter has its own copy of their weights: the live module holds the active adapter's copy,
 * and switching adapters (or disabling them) swaps the values, so the original weights come
 * back when adapters are off.
 */
public final class ModulesToSave {

    private final Map<String, Module> modules = new LinkedHashMap<>();
    private final Map<String, INDArrayMap> original = new HashMap<>();
    private final Map<String, Map<String, INDArrayMap>> perAdapter = new HashMap<>();
    private String live;

    /** Registers {@code module} at {@code path}, recording its original weights; no-op if known. */
    public void register(String path, Module module) {
        if (modules.putIfAbsent(path, module) == null) {
            original.put(path, INDArrayMap.copyOf(module));
        }
    }

    /** The registered modules by path. */
    public Map<String, Module> modules() {
        return modules;
    }

    /**
     * Puts {@code adapter}'s copy in the live modules ({@code null}: the original weights) and
     * makes their parameters trainable exactly when an adapter is live.
     */
    public void activate(String adapter) {
        if (java.util.Objects.equals(adapter, live)) {
            return;
        }
        if (live != null) {
            Map<String, INDArrayMap> saved = perAdapter.computeIfAbsent(live, k -> new HashMap<>());
            modules.forEach((path, module) -> saved.put(path, INDArrayMap.copyOf(module)));
        }
        modules.forEach((path, module) -> {
            Map<String, INDArrayMap> copies = adapter == null ? null : perAdapter.get(adapter);
            INDArrayMap values = copies != null && copies.containsKey(path) ? copies.get(path) : original.get(path);
            values.assignTo(module);
            module.parameters().forEach(p -> p.setTrainable(adapter != null));
        });
        live = adapter;
    }

    /** Forgets an adapter's copy. */
    public void delete(String adapter) {
        perAdapter.remove(adapter);
        if (adapter.equals(live)) {
            activate(null);
        }
    }

    /** The adapter whose copy is in the live modules, or {@code null}. */
    public String live() {
        return live;
    }

    /** A module's parameter values by name. */
    private record INDArrayMap(Map<String, org.nd4j.linalg.api.ndarray.INDArray> values) {
        static INDArrayMap copyOf(Module module) {
            Map<String, org.nd4j.linalg.api.ndarray.INDArray> copy = new LinkedHashMap<>();
            for (Map.Entry<String, Parameter> e : module.namedParameters().entrySet()) {
                copy.put(e.getKey(), e.getValue().value().dup());
            }
            return new INDArrayMap(copy);
        }

        void assignTo(Module module) {
            module.namedParameters().forEach((name, p) -> p.value().assign(values.get(name)));
        }
    }
}
