package dev.lora4j.io.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.api.LoraInit;
import dev.lora4j.io.AdapterException;
import dev.lora4j.io.AdapterSaveOptions;
import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.TargetModules;
import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.nn.Module;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Translates between lora4j's {@link LoraConfig} and PEFT's {@code adapter_config.json}, keeping
 * what matters for PEFT exact: the written config makes PEFT put the adapter on exactly the layers
 * that carry it here, with each layer's rank and alpha.
 */
public final class PeftConfigMapping {

    /** Fields whose null, when computed, means something: never filled in from the original file. */
    private static final Set<String> SELECTION_FIELDS =
            Set.of("target_modules", "exclude_modules", "layers_to_transform", "layers_pattern");

    private PeftConfigMapping() {}

    /**
     * The {@code adapter_config.json} for an adapter with configuration {@code config} that sits
     * on {@code layers} (specs by module path) in a model whose modules are {@code modules} (its
     * {@code namedModules()}). The targets are written as configured (a list with {@code
     * layers_to_transform}/{@code layers_pattern}, or a regex; {@code exclude_modules} as a list or
     * a regex). {@code "all-linear"} is written as PEFT writes it once it has expanded it on a model:
     * the list of the layers it selected (exact module paths), with no {@code exclude_modules}. When
     * PEFT's matching of the configured targets would select other layers (the adapters were
     * attached by hand, for instance), the exact module paths are written instead, without {@code
     * exclude_modules}, {@code layers_to_transform} or {@code layers_pattern}; when a layer's rank or
     * alpha differs from what the patterns give, an exact-path entry is put first in {@code
     * rank_pattern}/{@code alpha_pattern}.
     *
     * @throws IllegalArgumentException when the layers do not agree on DoRA (PEFT's {@code use_dora}
     *     is one setting per adapter), or on a PiSSA/OLoRA init, naming a layer of each kind
     * @throws IllegalStateException if no such config can be written (never expected)
     */
    public static PeftAdapterConfig toPeft(LoraConfig config, Map<String, AdapterSettings> layers, Map<String, Module> modules,
            AdapterSaveOptions options) {
        boolean dora = layers.isEmpty() ? config.dora() : layers.values().iterator().next().dora();
        for (Map.Entry<String, AdapterSettings> e : layers.entrySet()) {
            if (e.getValue().dora() != dora) {
                String first = layers.keySet().iterator().next();
                throw new IllegalArgumentException("the adapter has DoRA on " + (dora ? first : e.getKey()) + " but not on "
                        + (dora ? e.getKey() : first) + "; PEFT's use_dora is one setting for the whole adapter, so"
                        + " it cannot be saved as a PEFT adapter");
            }
        }
        checkOneInit(layers);
        TargetModules targets = config.targetsAllLinear()
                ? TargetModules.names(new ArrayList<>(layers.keySet()))
                : config.targetRegex() != null
                        ? TargetModules.regex(config.targetRegex())
                        : TargetModules.names(config.targetModules());
        TargetModules exclude = config.targetsAllLinear() ? null
                : config.excludeRegex() != null ? TargetModules.regex(config.excludeRegex())
                : config.excludeModules().isEmpty() ? null : TargetModules.names(config.excludeModules());
        PeftAdapterConfig peft = PeftAdapterConfig.lora(config.rank(), config.alpha(), targets)
                .withLoraDropout(config.dropout())
                .withExcludeModules(exclude)
                .withLayersToTransform(config.layersToTransform())
                .withLayersPattern(config.layersPattern())
                .withModulesToSave(config.modulesToSave().isEmpty() ? null : config.modulesToSave())
                .withRankPattern(config.rankPattern())
                .withAlphaPattern(config.alphaPattern())
                .withBias(config.bias())
                .withUseRslora(config.rslora())
                .withUseDora(dora)
                .withInitLoraWeights(config.init(), config.pissaNiter())
                .withField("fan_in_fan_out", BooleanNode.valueOf(config.fanInFanOut()))
                .withTaskType(options.taskType())
                .withBaseModelNameOrPath(options.baseModelNameOrPath())
                .withInferenceMode(true);
        if (!targeted(peft, modules).equals(layers.keySet())) {
            peft = peft.withTargetModules(TargetModules.names(new ArrayList<>(layers.keySet())))
                    .withExcludeModules(null)
                    .withLayersPattern(List.of())
                    .withLayersToTransform(List.of());
            if (!targeted(peft, modules).equals(layers.keySet())) {
                throw new IllegalStateException("cannot write target_modules that select exactly " + layers.keySet()
                        + "; PEFT would select " + targeted(peft, modules));
            }
        }
        Map<String, Integer> ranks = new LinkedHashMap<>();
        Map<String, Double> alphas = new LinkedHashMap<>();
        for (Map.Entry<String, AdapterSettings> e : layers.entrySet()) {
            if (peft.rankFor(e.getKey()) != e.getValue().rank()) {
                ranks.put(e.getKey(), e.getValue().rank());
            }
            if (peft.alphaFor(e.getKey()) != e.getValue().alpha()) {
                alphas.put(e.getKey(), e.getValue().alpha());
            }
        }
        if (!ranks.isEmpty()) {
            config.rankPattern().forEach(ranks::putIfAbsent);
            peft = peft.withRankPattern(ranks);
        }
        if (!alphas.isEmpty()) {
            config.alphaPattern().forEach(alphas::putIfAbsent);
            peft = peft.withAlphaPattern(alphas);
        }
        for (Map.Entry<String, AdapterSettings> e : layers.entrySet()) {
            if (peft.rankFor(e.getKey()) != e.getValue().rank() || peft.alphaFor(e.getKey()) != e.getValue().alpha()) {
                throw new IllegalStateException("cannot write rank_pattern/alpha_pattern giving " + e.getKey() + " r="
                        + e.getValue().rank() + ", alpha=" + e.getValue().alpha());
            }
        }
        return keepOriginFields(peft, config.peftOrigin());
    }

    /**
     * PEFT's {@code init_lora_weights} is one setting per adapter, and PiSSA/OLoRA factors apply to
     * the residual of their own init: when a layer's init changes the base weight, every layer must
     * have that init (others differ harmlessly: the saved factors replace their init on loading).
     */
    private static void checkOneInit(Map<String, AdapterSettings> layers) {
        if (layers.isEmpty()) {
            return;
        }
        Map.Entry<String, AdapterSettings> first = layers.entrySet().iterator().next();
        for (Map.Entry<String, AdapterSettings> e : layers.entrySet()) {
            AdapterSettings spec = e.getValue();
            boolean decomposing = spec.init().changesBaseWeight() || first.getValue().init().changesBaseWeight();
            if (decomposing && !spec.peftInit().equals(first.getValue().peftInit())) {
                throw new IllegalArgumentException("the adapter has init_lora_weights " + first.getValue().peftInit()
                        + " on " + first.getKey() + " but " + spec.peftInit() + " on " + e.getKey() + "; PEFT's"
                        + " init_lora_weights is one setting for the whole adapter and PiSSA/OLoRA factors need their"
                        + " own residual, so it cannot be saved as a PEFT adapter");
            }
        }
    }

    /**
     * Fills the fields that {@code computed} leaves missing or null from the config the adapter
     * was loaded from (task_type, base_model_name_or_path, peft_version, fields unknown to
     * lora4j), so that a load followed by a save drops nothing; the selection fields are computed,
     * never filled in.
     */
    private static PeftAdapterConfig keepOriginFields(PeftAdapterConfig computed, String origin) {
        if (origin == null) {
            return computed;
        }
        ObjectNode original = PeftAdapterConfig.parse(origin, "the adapter's original adapter_config.json").toJson();
        ObjectNode written = computed.toJson();
        PeftAdapterConfig out = computed;
        for (Iterator<Map.Entry<String, JsonNode>> it = original.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            JsonNode now = written.get(field.getKey());
            if ((now == null || now.isNull()) && !SELECTION_FIELDS.contains(field.getKey())) {
                out = out.withField(field.getKey(), field.getValue());
            }
        }
        return out;
    }

    /** The module paths PEFT would adapt under {@code peft} in a model whose modules are {@code modules}. */
    public static Set<String> targeted(PeftAdapterConfig peft, Map<String, Module> modules) {
        return peft.targetedModules(modules);
    }

    /**
     * The lora4j configuration of an adapter read from {@code peft} whose layers are {@code
     * layers}. Targets are PEFT's whenever lora4j's config selects what the file selects: a list
     * (with {@code layers_to_transform} and {@code layers_pattern}), a regex or {@code
     * "all-linear"}, {@code exclude_modules} as a list or a regex; else (no {@code target_modules},
     * only blank names, a blank {@code layers_pattern} entry, or {@code "all-linear"} under {@code
     * task_type} {@code SEQ_CLS}, whose head rule a {@link LoraConfig} does not carry) the exact
     * module paths.
     *
     * @throws AdapterException for PEFT features lora4j does not implement (LoRA bias, target parameters)
     */
    public static LoraConfig fromPeft(PeftAdapterConfig peft, Set<String> layers) {
        unsupported(peft);
        LoraConfig.Builder b = directFields(peft, peft.loraInit().orElse(LoraInit.KAIMING_UNIFORM))
                .peftOrigin(peft.toJsonString());
        if (!selectionFields(peft, b)) {
            b.targetModules(new ArrayList<>(layers).toArray(String[]::new));
        }
        return b.build();
    }

    /**
     * Sets {@code b}'s targets, exclusions and layer selection from {@code peft} and answers true when
     * the result selects exactly what PEFT selects in every model; false (leaving {@code b}'s targets
     * to the caller) when lora4j cannot say it the same way. A blank list entry selects nothing in
     * PEFT (it compares it with whole names and {@code ".name"} suffixes, and module paths are never
     * blank), so dropping it changes no selection; {@link LoraConfig} refuses it.
     */
    public static boolean selectionFields(PeftAdapterConfig peft, LoraConfig.Builder b) {
        Optional<TargetModules> targets = peft.targetModules();
        if (targets.isEmpty() || peft.layersPattern().stream().anyMatch(String::isBlank)) {
            return false;
        }
        if (targets.get().isAllLinear()) {
            if (peft.isSequenceClassification()) {
                return false;
            }
            b.targetAllLinear();
        } else if (targets.get().isRegex()) {
            b.targetRegex(targets.get().regex());
        } else {
            List<String> names = nonBlank(targets.get().names());
            if (names.isEmpty()) {
                return false;
            }
            b.targetModules(names.toArray(String[]::new));
            b.layersToTransform(peft.layersToTransform().stream().mapToInt(Integer::intValue).toArray());
            b.layersPattern(peft.layersPattern().toArray(String[]::new));
        }
        peft.excludeModules().ifPresent(e -> {
            if (e.isRegex()) {
                b.excludeRegex(e.regex());
            } else {
                b.excludeModules(nonBlank(e.names()).toArray(String[]::new));
            }
        });
        return true;
    }

    private static List<String> nonBlank(List<String> names) {
        return names.stream().filter(n -> !n.isBlank()).toList();
    }

    /**
     * A builder holding every field of {@code peft} that carries over one to one: rank, alpha,
     * dropout, rsLoRA, DoRA, {@code init} (decided by the caller; with PISSA the iterations of
     * {@code "pissa_niter_N"}), fan-in-fan-out, bias, modules to save
     * (duplicates dropped), rank and alpha patterns. Targets and exclusions are the caller's.
     */
    public static LoraConfig.Builder directFields(PeftAdapterConfig peft, LoraInit init) {
        LoraConfig.Builder b = LoraConfig.builder()
                .rank(peft.r())
                .alpha(peft.loraAlpha())
                .dropout(peft.loraDropout())
                .rslora(peft.useRslora())
                .dora(peft.useDora())
                .init(init)
                .pissaNiter(init == LoraInit.PISSA ? peft.pissaNiter() : -1)
                .fanInFanOut(peft.fanInFanOut())
                .bias(peft.bias())
                .modulesToSave(new LinkedHashSet<>(peft.modulesToSave()).toArray(String[]::new));
        peft.rankPattern().forEach(b::rankPattern);
        peft.alphaPattern().forEach(b::alphaPattern);
        return b;
    }

    /**
     * The fields of {@code peft} that make its adapter compute something lora4j does not (a bias
     * on lora_B, adapted parameters instead of layers), each with the problem in words, in a
     * fixed order; empty when lora4j computes what PEFT would.
     */
    public static Map<String, String> unsupportedFeatures(PeftAdapterConfig peft) {
        Map<String, String> problems = new LinkedHashMap<>();
        if (isSet(peft.get("lora_bias"))) {
            problems.put("lora_bias", "is set, but a bias on lora_B is not supported by lora4j");
        }
        if (isSet(peft.get("target_parameters"))) {
            problems.put("target_parameters", "is set, but adapting parameters rather than layers is not supported by lora4j; use target_modules");
        }
        return problems;
    }

    /**
     * Rejects configs whose adapters compute something lora4j does not.
     *
     * @throws AdapterException naming the source and the first such field
     */
    public static void unsupported(PeftAdapterConfig peft) {
        Map<String, String> problems = unsupportedFeatures(peft);
        if (!problems.isEmpty()) {
            Map.Entry<String, String> first = problems.entrySet().iterator().next();
            throw new AdapterException(peft.source() + ": field '" + first.getKey() + "' " + first.getValue());
        }
    }

    /** Whether a field is present with a value other than null, false, an empty list or an empty object. */
    private static boolean isSet(JsonNode value) {
        if (value == null || value.isNull()) {
            return false;
        }
        if (value.isBoolean()) {
            return value.booleanValue();
        }
        return !(value.isContainerNode() && value.isEmpty());
    }
}
