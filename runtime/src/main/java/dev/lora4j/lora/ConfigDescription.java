package dev.lora4j.lora;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Describes adapters that were attached layer by layer (through annotations) as one
 * {@link LoraConfig} per adapter name: the targets are the layers' names (e.g. {@code query,
 * value}) when those select exactly the adapted layers among all the model's modules, else the
 * full module paths; r and alpha are the first layer's, and layers that differ get {@code
 * rank_pattern}/{@code alpha_pattern} entries keyed by their full path (PEFT reads both the same
 * way).
 */
final class ConfigDescription {

    private ConfigDescription() {}

    static Map<String, LoraConfig> describe(Map<String, LoraLayer> layers, Set<String> modulePaths) {
        Map<String, Map<String, AdapterSettings>> byAdapter = new LinkedHashMap<>();
        layers.forEach((path, layer) -> layer.adapters().forEach((name, adapter) ->
                byAdapter.computeIfAbsent(name, k -> new LinkedHashMap<>()).put(path, adapter.spec())));
        Map<String, LoraConfig> configs = new LinkedHashMap<>();
        byAdapter.forEach((name, specs) -> configs.put(name, describeOne(specs, modulePaths)));
        return configs;
    }

    private static LoraConfig describeOne(Map<String, AdapterSettings> specs, Set<String> modulePaths) {
        AdapterSettings first = specs.values().iterator().next();
        String[] names = specs.keySet().stream().map(p -> p.substring(p.lastIndexOf('.') + 1)).distinct()
                .toArray(String[]::new);
        LoraConfig byName = LoraConfig.builder().targetModules(names).build();
        boolean namesSelectExactly = modulePaths.stream().filter(p -> !p.isEmpty() && byName.targets(p))
                .collect(Collectors.toSet()).equals(specs.keySet());
        LoraConfig.Builder builder = LoraConfig.builder()
                .rank(first.rank())
                .alpha(first.alpha())
                .dropout(first.dropout())
                .rslora(first.rslora())
                .dora(first.dora())
                .init(first.init())
                .pissaNiter(first.pissaNiter())
                .targetModules(namesSelectExactly ? names : specs.keySet().toArray(String[]::new));
        specs.forEach((path, spec) -> {
            if (spec.rank() != first.rank()) {
                builder.rankPattern(path, spec.rank());
            }
            if (spec.alpha() != first.alpha()) {
                builder.alphaPattern(path, spec.alpha());
            }
        });
        return builder.build();
    }
}
