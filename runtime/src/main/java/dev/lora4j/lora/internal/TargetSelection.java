package dev.lora4j.lora.internal;

import dev.lora4j.lora.LoraConfig;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * Which modules of a model an adapter goes on, by PEFT's rule (PEFT 0.20: {@code
 * check_target_module_exists} and {@code _maybe_include_all_linear_layers} in {@code
 * tuners_utils.py}), from the config fields that take part. The one such rule in lora4j: {@code
 * LoraConfig}, {@code PeftAdapterConfig} (so {@code adapter_config.json} in both directions) and the
 * agent's target specs all build one of these; {@link ModuleNames} supplies the name patterns.
 *
 * <p>For each module path, in this order:
 *
 * <ol>
 *   <li>excluded when {@code exclude_modules} selects it (a regex: whole-path match; a list: equal
 *       to an entry or ending with {@code "." + entry});
 *   <li>excluded when it is, or lies inside, a module of {@code modules_to_save};
 *   <li>{@code target_modules} as a regex: targeted when the regex matches the whole path;
 *   <li>{@code "all-linear"}: targeted when the path is one of {@link #allLinear(Map)}'s;
 *   <li>a list: targeted when the path equals an entry (then {@code layers_to_transform} does not
 *       apply, as in PEFT); otherwise it must end with {@code "." + entry} and, when {@code
 *       layers_to_transform} is set, have a {@linkplain ModuleNames#layerIndex layer index} in it.
 * </ol>
 *
 * <p><b>The output layer under {@code "all-linear"}.</b> PEFT takes every {@code nn.Linear} (and
 * GPT-2's {@code Conv1D}) and, for a Hugging Face {@code PreTrainedModel}, removes the module {@code
 * get_output_embeddings()} returns, or, with {@code task_type} {@code SEQ_CLS} and no output
 * embeddings, the model's {@code score} or else {@code classifier} attribute. A lora4j model has no
 * {@code get_output_embeddings()}; its module paths mirror the Hugging Face model's, so the output
 * layer is found where transformers keeps it: the first of {@link #OUTPUT_LAYER_PATHS} that names a
 * {@link Linear} (the {@code lm_head} of Llama, Mistral, Qwen, GPT-2, OPT, T5 and most language
 * models; {@code lm_head.decoder} of RoBERTa; {@code embed_out} of GPT-NeoX; {@code vocab_projector}
 * of DistilBERT; {@code cls.predictions.decoder} of BERT), and with {@code sequenceClassification}
 * and no such layer, the top-level {@code score}, else {@code classifier}, as PEFT does. A
 * classification head is normally in {@code modules_to_save}, which excludes it anyway (PEFT's
 * {@code SEQ_CLS} models put {@code classifier} and {@code score} there).
 *
 * @param targetNames {@code target_modules} as a list (empty for the other forms)
 * @param targetRegex {@code target_modules} as a regex, or {@code null}
 * @param allLinear whether {@code target_modules} is {@code "all-linear"}
 * @param excludeNames {@code exclude_modules} as a list (empty for none)
 * @param excludeRegex {@code exclude_modules} as a regex, or {@code null}
 * @param modulesToSave {@code modules_to_save}
 * @param layersToTransform {@code layers_to_transform} (empty: every layer)
 * @param layersPattern {@code layers_pattern} (empty: PEFT's default, any segment)
 * @param sequenceClassification whether {@code task_type} is {@code SEQ_CLS} (the head rule above)
 */
public record TargetSelection(List<String> targetNames, @Nullable String targetRegex, boolean allLinear,
        List<String> excludeNames, @Nullable String excludeRegex, List<String> modulesToSave,
        List<Integer> layersToTransform, List<String> layersPattern, boolean sequenceClassification) {

    /** PEFT's {@code INCLUDE_LINEAR_LAYERS_SHORTHAND}, compared ignoring case as PEFT compares it. */
    public static final String ALL_LINEAR = "all-linear";

    /**
     * Where Hugging Face's transformers keep the module {@code get_output_embeddings()} returns, in
     * the order they are tried; the first that names a Linear is the output layer.
     */
    public static final List<String> OUTPUT_LAYER_PATHS =
            List.of("lm_head", "lm_head.decoder", "embed_out", "vocab_projector", "cls.predictions.decoder");

    /** PEFT's {@code SEQ_CLS_HEAD_NAMES}, in its order. */
    public static final List<String> SEQUENCE_CLASSIFICATION_HEADS = List.of("score", "classifier");

    /** What PEFT's check says about one module path. */
    public enum Verdict {
        /** The adapter goes on it. */
        TARGETED,
        /** {@code exclude_modules} or {@code modules_to_save} keeps it out. */
        EXCLUDED,
        /** {@code target_modules} (with {@code layers_to_transform}) does not select it. */
        UNMATCHED
    }

    /** Copies the lists; exactly one target form must be given. */
    public TargetSelection {
        targetNames = List.copyOf(targetNames);
        excludeNames = List.copyOf(excludeNames);
        modulesToSave = List.copyOf(modulesToSave);
        layersToTransform = List.copyOf(layersToTransform);
        layersPattern = List.copyOf(layersPattern);
    }

    /** The selection {@code config} describes (a {@code LoraConfig} has no task type: no head rule). */
    public static TargetSelection of(LoraConfig config) {
        return new TargetSelection(config.targetModules(), config.targetRegex(), config.targetsAllLinear(),
                config.excludeModules(), config.excludeRegex(), config.modulesToSave(), config.layersToTransform(),
                config.layersPattern(), false);
    }

    /** Whether {@code value} is PEFT's {@code "all-linear"} (any case, as PEFT's {@code .lower()} check). */
    public static boolean isAllLinear(@Nullable String value) {
        return value != null && value.equalsIgnoreCase(ALL_LINEAR);
    }

    /**
     * Whether the adapter goes on {@code path}, from its name alone.
     *
     * @throws IllegalStateException for {@code "all-linear"}, which needs the model ({@link #select})
     * @throws BoundedRegex.TooExpensive when a pattern backtracks catastrophically on the path
     */
    public boolean matches(String path) {
        if (allLinear) {
            throw new IllegalStateException("target_modules \"all-linear\" depends on the model's layer types;"
                    + " select the modules of a model instead");
        }
        return verdict(path, Set.of()) == Verdict.TARGETED;
    }

    /**
     * The paths of {@code modules} (a model's {@code namedModules()}) the adapter goes on, in the
     * model's order; the root ({@code ""}) is never one.
     *
     * @throws BoundedRegex.TooExpensive when a pattern backtracks catastrophically on a path
     */
    public Set<String> select(Map<String, Module> modules) {
        Set<String> linear = allLinear ? allLinear(modules) : Set.of();
        Set<String> out = new LinkedHashSet<>();
        for (String path : modules.keySet()) {
            if (!path.isEmpty() && verdict(path, linear) == Verdict.TARGETED) {
                out.add(path);
            }
        }
        return out;
    }

    /**
     * PEFT's expansion of {@code "all-linear"}: the paths of every {@link Linear} of {@code modules}
     * except the {@linkplain #outputLayer output layer}, in the model's order.
     */
    public Set<String> allLinear(Map<String, Module> modules) {
        String output = outputLayer(modules);
        Set<String> out = new LinkedHashSet<>();
        modules.forEach((path, module) -> {
            if (!path.isEmpty() && module instanceof Linear && !path.equals(output)) {
                out.add(path);
            }
        });
        return out;
    }

    /**
     * The module {@code "all-linear"} leaves out as the model's output layer (see the class
     * comment), or {@code null} when there is none.
     */
    public @Nullable String outputLayer(Map<String, Module> modules) {
        for (String path : OUTPUT_LAYER_PATHS) {
            if (modules.get(path) instanceof Linear) {
                return path;
            }
        }
        if (sequenceClassification) {
            for (String head : SEQUENCE_CLASSIFICATION_HEADS) {
                if (modules.containsKey(head)) {
                    return head;
                }
            }
        }
        return null;
    }

    /** PEFT's verdict on {@code path}; {@code linear} is the expansion of {@code "all-linear"} (unused otherwise). */
    private Verdict verdict(String path, Set<String> linear) {
        boolean excluded = excludeRegex != null
                ? ModuleNames.fullMatch(excludeRegex, path, "exclude_modules regex")
                : ModuleNames.inList(excludeNames, path);
        if (excluded || ModuleNames.isInModulesToSave(path, modulesToSave)) {
            return Verdict.EXCLUDED;
        }
        if (allLinear) {
            return linear.contains(path) ? Verdict.TARGETED : Verdict.UNMATCHED;
        }
        if (targetRegex != null) {
            return ModuleNames.fullMatch(targetRegex, path, "target_modules regex") ? Verdict.TARGETED : Verdict.UNMATCHED;
        }
        if (targetNames.contains(path)) {
            return Verdict.TARGETED; // an exact entry: PEFT does not apply layers_to_transform
        }
        if (!ModuleNames.inList(targetNames, path)) {
            return Verdict.UNMATCHED;
        }
        return layersToTransform.isEmpty() || ModuleNames.inLayers(path, layersToTransform, layersPattern)
                ? Verdict.TARGETED : Verdict.UNMATCHED;
    }

    /**
     * Why {@link #select} finds nothing in {@code modules}, naming the field at fault: {@code
     * "all-linear"} on a model without (other) Linear layers, every candidate excluded, a {@code
     * layers_pattern} under which no targeted path has a layer index, or a {@code
     * layers_to_transform} naming no layer the targets have; {@code null} when {@code
     * target_modules} simply names no module of the model.
     */
    public @Nullable String whyNothing(Map<String, Module> modules) {
        if (allLinear) {
            Set<String> linear = allLinear(modules);
            if (linear.isEmpty()) {
                String output = outputLayer(modules);
                return "target_modules \"all-linear\" selects no module: the model has no Linear layer"
                        + (output == null ? "" : " other than its output layer " + output
                                + ", which all-linear leaves out as PEFT does");
            }
            return "the Linear layers \"all-linear\" selects, " + linear
                    + ", are all excluded by exclude_modules or modules_to_save";
        }
        TargetSelection anyLayer = new TargetSelection(targetNames, targetRegex, false, excludeNames, excludeRegex,
                modulesToSave, List.of(), List.of(), sequenceClassification);
        TargetSelection notExcluding = new TargetSelection(targetNames, targetRegex, false, List.of(), null,
                List.of(), layersToTransform, layersPattern, sequenceClassification);
        List<String> byName = new ArrayList<>();
        boolean anyExcluded = false;
        for (String path : modules.keySet()) {
            if (path.isEmpty()) {
                continue;
            }
            if (anyLayer.verdict(path, Set.of()) == Verdict.TARGETED) {
                byName.add(path);
            } else if (notExcluding.verdict(path, Set.of()) == Verdict.TARGETED) {
                anyExcluded = true;
            }
        }
        if (byName.isEmpty()) {
            return anyExcluded ? "every module target_modules selects is excluded by exclude_modules or modules_to_save"
                    : null;
        }
        Set<Integer> indices = new TreeSet<>();
        for (String path : byName) {
            Integer index = ModuleNames.layerIndex(path, layersPattern);
            if (index != null) {
                indices.add(index);
            }
        }
        if (indices.isEmpty()) {
            return (layersPattern.isEmpty() ? "layers_pattern (unset, so any segment)" : "layers_pattern " + layersPattern)
                    + " finds no layer index in the paths target_modules selects (such as " + byName.get(0)
                    + "); the index is the number after a segment" + (layersPattern.isEmpty() ? "" : " named by layers_pattern")
                    + " that follows at least one other segment, as in model.layers.3.mlp";
        }
        return "layers_to_transform " + layersToTransform + " names no layer of the modules target_modules selects,"
                + " whose layer indices are " + indices;
    }

    /** The fields for messages, e.g. {@code target_modules [q, v] with layers_to_transform [0] excluding [q]}. */
    public String describe() {
        StringBuilder s = new StringBuilder("target_modules ");
        if (allLinear) {
            s.append("\"all-linear\"");
        } else if (targetRegex != null) {
            s.append("regex '").append(targetRegex).append('\'');
        } else {
            s.append(targetNames);
        }
        if (!layersToTransform.isEmpty()) {
            s.append(" with layers_to_transform ").append(layersToTransform);
            if (!layersPattern.isEmpty()) {
                s.append(" (layers_pattern ").append(layersPattern).append(')');
            }
        }
        if (excludeRegex != null) {
            s.append(" excluding regex '").append(excludeRegex).append('\'');
        } else if (!excludeNames.isEmpty()) {
            s.append(" excluding ").append(excludeNames);
        }
        return s.toString();
    }
}
