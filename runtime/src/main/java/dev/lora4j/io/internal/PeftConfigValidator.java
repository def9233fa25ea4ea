package dev.lora4j.io.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.io.PeftConfigException;
import dev.lora4j.lora.internal.TargetSelection;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The checks an {@code adapter_config.json} object passes before {@link
 * dev.lora4j.io.PeftAdapterConfig} holds it: each known field's type and range as PEFT's
 * {@code LoraConfig} defines it, every regex compiled once, every number finite. The first
 * problem is reported with the file and the field.
 */
public final class PeftConfigValidator {

    private final ObjectNode json;
    private final String source;

    private PeftConfigValidator(ObjectNode json, String source) {
        this.json = json;
        this.source = source;
    }

    /**
     * Checks every field of {@code json} that PEFT's LoRA config defines (types, ranges, regexes,
     * finite numbers); unknown fields pass.
     *
     * @throws PeftConfigException naming {@code source} and the first invalid field
     */
    public static void validate(ObjectNode json, String source) {
        new PeftConfigValidator(json, source).check();
    }

    private void check() {
        for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!allFinite(e.getValue())) {
                throw fail(e.getKey(), "holds a number outside the range of a double (such as 1e309);"
                        + " it would not survive writing the config back");
            }
        }
        JsonNode type = json.get("peft_type");
        if (type == null || type.isNull()) {
            throw fail("peft_type", "is missing; expected \"LORA\"");
        }
        if (!type.isTextual() || !type.textValue().equals("LORA")) {
            throw fail("peft_type", "must be \"LORA\", got " + type);
        }
        JsonNode r = value("r");
        if (r != null && (!r.isIntegralNumber() || !r.canConvertToInt() || r.intValue() < 1)) {
            throw fail("r", "must be an integer >= 1, got " + r);
        }
        JsonNode alpha = value("lora_alpha");
        if (alpha != null && (!alpha.isNumber() || !(alpha.doubleValue() > 0) || Double.isInfinite(alpha.doubleValue()))) {
            throw fail("lora_alpha", "must be a number > 0, got " + alpha);
        }
        JsonNode dropout = value("lora_dropout");
        if (dropout != null && (!dropout.isNumber() || !(dropout.doubleValue() >= 0 && dropout.doubleValue() < 1))) {
            throw fail("lora_dropout", "must be a number in [0, 1), got " + dropout);
        }
        JsonNode bias = value("bias");
        if (bias != null && !(bias.isTextual() && List.of("none", "all", "lora_only").contains(bias.textValue()))) {
            throw fail("bias", "must be \"none\", \"all\" or \"lora_only\", got " + bias);
        }
        modules("target_modules");
        modules("exclude_modules");
        for (String f : List.of("fan_in_fan_out", "use_rslora", "use_dora", "inference_mode", "lora_bias")) {
            JsonNode v = value(f);
            if (v != null && !v.isBoolean()) {
                throw fail(f, "must be true or false, got " + v);
            }
        }
        for (String f : List.of("task_type", "base_model_name_or_path", "revision", "peft_version")) {
            JsonNode v = value(f);
            if (v != null && !v.isTextual()) {
                throw fail(f, "must be a string or null, got " + v);
            }
        }
        stringList("modules_to_save");
        for (String m : texts("modules_to_save")) {
            regex("modules_to_save", "(^|.*\\.)" + m + "($|\\..*)", m);
        }
        JsonNode layersPattern = value("layers_pattern");
        if (layersPattern != null && !layersPattern.isTextual()) {
            stringList("layers_pattern");
        }
        for (String p : texts("layers_pattern")) {
            regex("layers_pattern", ".*?\\." + p + "\\.(\\d+)\\.", p);
        }
        layers();
        layerRules();
        JsonNode init = value("init_lora_weights");
        if (init != null && !init.isBoolean() && !init.isTextual()) {
            throw fail("init_lora_weights", "must be true, false or a string such as \"gaussian\", got " + init);
        }
        patternMap("rank_pattern", true);
        patternMap("alpha_pattern", false);
    }

    private static boolean allFinite(JsonNode node) {
        if (node.isFloatingPointNumber()) {
            return Double.isFinite(node.doubleValue());
        }
        for (JsonNode child : node) {
            if (!allFinite(child)) {
                return false;
            }
        }
        return true;
    }

    private JsonNode value(String field) {
        JsonNode v = json.get(field);
        return v == null || v.isNull() ? null : v;
    }

    private void modules(String field) {
        JsonNode v = value(field);
        if (v == null) {
            return;
        }
        if (v.isTextual()) {
            if (!(field.equals("target_modules") && TargetSelection.isAllLinear(v.textValue()))) {
                regex(field, v.textValue(), v.textValue());
            }
            return;
        }
        stringList(field);
    }

    private void stringList(String field) {
        JsonNode v = value(field);
        if (v == null) {
            return;
        }
        if (!v.isArray()) {
            throw fail(field, "must be a list of strings" + (field.endsWith("_modules") ? " or a regex string" : "")
                    + ", got " + v);
        }
        for (JsonNode item : v) {
            if (!item.isTextual()) {
                throw fail(field, "must hold only strings, found " + item);
            }
        }
    }

    /** The string or strings of a validated field (none when absent). */
    private List<String> texts(String field) {
        JsonNode v = value(field);
        List<String> out = new ArrayList<>();
        if (v != null && v.isTextual()) {
            out.add(v.textValue());
        } else if (v != null) {
            v.forEach(n -> out.add(n.textValue()));
        }
        return out;
    }

    private void layers() {
        JsonNode v = value("layers_to_transform");
        if (v == null) {
            return;
        }
        List<JsonNode> items = new ArrayList<>();
        if (v.isArray()) {
            v.forEach(items::add);
        } else {
            items.add(v);
        }
        for (JsonNode item : items) {
            if (!item.isIntegralNumber() || !item.canConvertToInt() || item.intValue() < 0) {
                throw fail("layers_to_transform", "must be a layer index or a list of them (integers >= 0), got " + v);
            }
        }
    }

    /**
     * PEFT's {@code LoraConfig.__post_init__} rules: {@code layers_to_transform} and {@code
     * layers_pattern} only with {@code target_modules} as a list, and {@code layers_pattern} only
     * with {@code layers_to_transform}.
     */
    private void layerRules() {
        JsonNode targets = value("target_modules");
        JsonNode layers = value("layers_to_transform");
        JsonNode pattern = value("layers_pattern");
        if (targets != null && targets.isTextual()) {
            String form = TargetSelection.isAllLinear(targets.textValue()) ? "\"" + targets.textValue() + "\""
                    : "a regex string";
            if (layers != null) {
                throw fail("layers_to_transform", "cannot be used when target_modules is " + form
                        + " (PEFT refuses it too); list the module names, or put the layers in the regex");
            }
            if (pattern != null) {
                throw fail("layers_pattern", "cannot be used when target_modules is " + form + " (PEFT refuses it too)");
            }
        }
        boolean patternGiven = pattern != null && !(pattern.isContainerNode() ? pattern.isEmpty() : pattern.textValue().isEmpty());
        if (patternGiven && layers == null) {
            throw fail("layers_pattern", "is set without layers_to_transform; it only says where the layer index is"
                    + " (PEFT refuses it alone too)");
        }
    }

    private void patternMap(String field, boolean integers) {
        JsonNode v = value(field);
        if (v == null) {
            return;
        }
        if (!v.isObject()) {
            throw fail(field, "must be an object mapping module patterns to values, got " + v);
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode n = e.getValue();
            boolean ok = integers
                    ? n.isIntegralNumber() && n.canConvertToInt() && n.intValue() >= 1
                    : n.isNumber() && n.doubleValue() > 0 && !Double.isInfinite(n.doubleValue());
            if (!ok) {
                throw fail(field, "value for '" + e.getKey() + "' must be "
                        + (integers ? "an integer >= 1" : "a number > 0") + ", got " + n);
            }
            regex(field, "(.*\\.)?(" + e.getKey() + ")", e.getKey());
        }
    }

    private void regex(String field, String regex, String shown) {
        try {
            Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw fail(field, "'" + shown + "' is not a valid regular expression: " + e.getDescription());
        }
    }

    private PeftConfigException fail(String field, String problem) {
        return new PeftConfigException(source + ": field '" + field + "' " + problem);
    }
}
