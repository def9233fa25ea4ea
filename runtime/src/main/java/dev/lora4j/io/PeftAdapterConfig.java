package dev.lora4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.lora4j.api.BiasMode;
import dev.lora4j.api.LoraInit;
import dev.lora4j.io.internal.AtomicFile;
import dev.lora4j.io.internal.PeftJson;
import dev.lora4j.io.internal.PeftConfigValidator;
import dev.lora4j.io.internal.StrictJsonObjects;
import dev.lora4j.io.internal.TensorBytes;
import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.internal.BoundedRegex;
import dev.lora4j.lora.internal.ModuleNames;
import dev.lora4j.lora.internal.TargetSelection;
import dev.lora4j.nn.Module;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A PEFT LoRA {@code adapter_config.json}: typed accessors over the JSON object, which is kept whole
 * so fields lora4j does not know (PEFT adds some in most releases) are written back unchanged.
 *
 * <p>Reading validates the fields lora4j uses, each with a one-line {@link PeftConfigException}
 * naming the file and field: {@code peft_type} must be {@code "LORA"}; {@code r} an integer ≥ 1;
 * {@code lora_alpha} a number &gt; 0; {@code 0 ≤ lora_dropout < 1}; {@code bias} one of {@code
 * none}, {@code all}, {@code lora_only}; {@code layers_to_transform} indices ≥ 0, and with {@code
 * layers_pattern} only beside a list of {@code target_modules} (PEFT's {@code LoraConfig} refuses
 * them with a regex or {@code "all-linear"}, and {@code layers_pattern} alone); and the other known
 * fields must have PEFT's JSON types.
 * Absent or null fields take PEFT's {@code LoraConfig} defaults in the accessors ({@code r} 8,
 * {@code lora_alpha} 8, dropout 0, bias none, flags false, {@code init_lora_weights} true).
 *
 * <p>Instances are immutable; the {@code with...} methods return modified copies. {@link
 * #write(Path)} writes atomically, formatted as PEFT formats it (sorted keys, two-space indent), so
 * a file PEFT wrote comes back byte for byte.
 */
public final class PeftAdapterConfig {

    /** The file name PEFT uses inside an adapter directory. */
    public static final String FILE_NAME = "adapter_config.json";

    /** The largest {@code adapter_config.json} read ({@link StrictJsonObjects#MAX_FILE_BYTES}). */
    public static final long MAX_FILE_BYTES = StrictJsonObjects.MAX_FILE_BYTES;

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    /** PEFT's fast-SVD PiSSA value, {@code pissa_niter_N}. */
    private static final Pattern PISSA_NITER = Pattern.compile("pissa_niter_([0-9]+)");

    private final ObjectNode json;
    private final String source;

    private PeftAdapterConfig(ObjectNode json, String source) {
        this.json = json;
        this.source = source;
        PeftConfigValidator.validate(json, source);
    }

    /**
     * Reads {@code path}, or {@code path/adapter_config.json} when {@code path} is a directory.
     *
     * @throws PeftConfigException if the file is not valid JSON or not a valid LoRA config, or is
     *     larger than {@link #MAX_FILE_BYTES}
     * @throws IOException if it cannot be read
     */
    public static PeftAdapterConfig read(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        return new PeftAdapterConfig(StrictJsonObjects.read(file), file.toString());
    }

    /**
     * Parses config JSON; {@code source} names it in error messages.
     *
     * @throws PeftConfigException if it is not valid JSON or not a valid LoRA config
     */
    public static PeftAdapterConfig parse(String text, String source) {
        return new PeftAdapterConfig(StrictJsonObjects.parse(text, source), source);
    }

    /**
     * A config from a JSON object (copied).
     *
     * @throws PeftConfigException if it is not a valid LoRA config
     */
    public static PeftAdapterConfig fromJson(ObjectNode json, String source) {
        return new PeftAdapterConfig(json.deepCopy(), source);
    }

    /**
     * A new LoRA config with every field PEFT's {@code LoraConfig} writes, set to PEFT's defaults
     * except {@code r}, {@code lora_alpha} and {@code target_modules}. No {@code peft_version} is
     * written (lora4j is not PEFT); {@code inference_mode} starts false.
     */
    public static PeftAdapterConfig lora(int r, double loraAlpha, TargetModules targetModules) {
        ObjectNode o = NODES.objectNode();
        o.put("peft_type", "LORA");
        o.put("r", r);
        o.set("lora_alpha", number(loraAlpha));
        o.put("lora_dropout", 0.0);
        o.set("target_modules", toJson(Objects.requireNonNull(targetModules, "targetModules")));
        o.set("exclude_modules", NullNode.instance);
        o.put("fan_in_fan_out", false);
        o.put("bias", "none");
        o.put("use_rslora", false);
        o.put("use_dora", false);
        o.set("modules_to_save", NullNode.instance);
        o.put("init_lora_weights", true);
        o.set("layers_to_transform", NullNode.instance);
        o.set("layers_pattern", NullNode.instance);
        o.set("rank_pattern", NODES.objectNode());
        o.set("alpha_pattern", NODES.objectNode());
        o.set("task_type", NullNode.instance);
        o.set("base_model_name_or_path", NullNode.instance);
        o.set("revision", NullNode.instance);
        o.put("inference_mode", false);
        return new PeftAdapterConfig(o, "new LoRA config");
    }

    /**
     * Writes the config to {@code path} (or {@code path/adapter_config.json} for a directory)
     * atomically, formatted like PEFT: keys sorted, two-space indent, no trailing newline.
     */
    public void write(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        byte[] bytes = toJsonString().getBytes(StandardCharsets.UTF_8);
        try (AtomicFile out = AtomicFile.create(file)) {
            TensorBytes.writeFully(ByteBuffer.wrap(bytes), out.channel());
            out.commit();
        }
    }

    /** The JSON text {@link #write(Path)} writes. */
    public String toJsonString() {
        return PeftJson.write(json);
    }

    /** A copy of the whole JSON object, unknown fields included. */
    public ObjectNode toJson() {
        return json.deepCopy();
    }

    /** A copy of any field's JSON value (known or not), or {@code null} when absent. */
    public @Nullable JsonNode get(String field) {
        JsonNode v = json.get(field);
        return v == null ? null : v.deepCopy();
    }

    /** Where the config came from, as used in error messages. */
    public String source() {
        return source;
    }

    // ---- typed accessors -------------------------------------------------------------------

    /** {@code peft_type}; always {@code "LORA"} for a valid config. */
    public String peftType() {
        return json.get("peft_type").textValue();
    }

    /** {@code r}, the default rank (8 when absent). */
    public int r() {
        return present("r") ? json.get("r").intValue() : 8;
    }

    /** {@code lora_alpha}, the default alpha (8 when absent). */
    public double loraAlpha() {
        return present("lora_alpha") ? json.get("lora_alpha").doubleValue() : 8.0;
    }

    /** {@code lora_dropout} (0 when absent). */
    public double loraDropout() {
        return present("lora_dropout") ? json.get("lora_dropout").doubleValue() : 0.0;
    }

    /** {@code target_modules}: a list or a regex; empty when absent or null. */
    public Optional<TargetModules> targetModules() {
        return modules("target_modules");
    }

    /** {@code exclude_modules}: a list or a regex; empty when absent or null. */
    public Optional<TargetModules> excludeModules() {
        return modules("exclude_modules");
    }

    /** {@code fan_in_fan_out}: whether the base weights are stored transposed (GPT-2's Conv1D). */
    public boolean fanInFanOut() {
        return flag("fan_in_fan_out");
    }

    /** {@code bias} (NONE when absent). */
    public BiasMode bias() {
        return present("bias") ? BiasMode.fromPeftName(json.get("bias").textValue()) : BiasMode.NONE;
    }

    /** {@code use_rslora}: scaling {@code alpha / sqrt(r)} instead of {@code alpha / r}. */
    public boolean useRslora() {
        return flag("use_rslora");
    }

    /** {@code use_dora}: DoRA adapters, with a magnitude vector per adapted layer. */
    public boolean useDora() {
        return flag("use_dora");
    }

    /** {@code inference_mode}. */
    public boolean inferenceMode() {
        return flag("inference_mode");
    }

    /** {@code modules_to_save}, in file order with duplicates; empty when absent or null. */
    public List<String> modulesToSave() {
        return strings("modules_to_save");
    }

    /** {@code rank_pattern}, in file order; empty when absent or null. */
    public Map<String, Integer> rankPattern() {
        Map<String, Integer> out = new LinkedHashMap<>();
        if (present("rank_pattern")) {
            json.get("rank_pattern").fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().intValue()));
        }
        return Collections.unmodifiableMap(out);
    }

    /** {@code alpha_pattern}, in file order; empty when absent or null. */
    public Map<String, Double> alphaPattern() {
        Map<String, Double> out = new LinkedHashMap<>();
        if (present("alpha_pattern")) {
            json.get("alpha_pattern").fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().doubleValue()));
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * {@code init_lora_weights} as found: a {@link Boolean}, or a {@link String} such as {@code
     * "gaussian"} or {@code "pissa"}; {@code true} when absent or null.
     */
    public Object initLoraWeights() {
        if (!present("init_lora_weights")) {
            return Boolean.TRUE;
        }
        JsonNode v = json.get("init_lora_weights");
        return v.isBoolean() ? (Object) v.booleanValue() : v.textValue();
    }

    /**
     * {@code init_lora_weights} as a lora4j initialisation, read as PEFT reads it: true →
     * KAIMING_UNIFORM, false → RANDOM, "gaussian" → GAUSSIAN and "olora" → OLORA (both in any
     * case), "pissa" and "pissa_niter_N" → PISSA (see {@link #pissaNiter()}); empty for the other
     * PEFT schemes (CorDA, LoftQ, EVA, ...) and for a "pissa..." value PEFT would fail on.
     */
    public Optional<LoraInit> loraInit() {
        Object v = initLoraWeights();
        if (Boolean.TRUE.equals(v)) {
            return Optional.of(LoraInit.KAIMING_UNIFORM);
        }
        if (Boolean.FALSE.equals(v)) {
            return Optional.of(LoraInit.RANDOM);
        }
        String text = (String) v;
        if ("gaussian".equalsIgnoreCase(text)) {
            return Optional.of(LoraInit.GAUSSIAN);
        }
        if ("olora".equalsIgnoreCase(text)) {
            return Optional.of(LoraInit.OLORA);
        }
        return "pissa".equals(text) || PISSA_NITER.matcher(text).matches() ? Optional.of(LoraInit.PISSA) : Optional.empty();
    }

    /**
     * The subspace iterations {@code N} of {@code init_lora_weights = "pissa_niter_N"} (PEFT's fast
     * SVD, {@code torch.svd_lowrank(W, r, niter=N)}), or {@code -1} for any other value, {@code
     * "pissa"} (the exact SVD) included.
     */
    public int pissaNiter() {
        Object v = initLoraWeights();
        if (v instanceof String text) {
            Matcher m = PISSA_NITER.matcher(text);
            if (m.matches()) {
                try {
                    return Integer.parseInt(m.group(1));
                } catch (NumberFormatException e) {
                    return -1; // more iterations than an int holds: loraInit() is empty too
                }
            }
        }
        return -1;
    }

    /** {@code task_type}, e.g. {@code "SEQ_CLS"} or {@code "CAUSAL_LM"}. */
    public Optional<String> taskType() {
        return text("task_type");
    }

    /**
     * Whether {@code task_type} is {@code "SEQ_CLS"}: then PEFT's {@code "all-linear"} also leaves
     * out the model's {@code score} or {@code classifier} head (see {@link #targetedModules(Module)}).
     */
    public boolean isSequenceClassification() {
        return "SEQ_CLS".equals(taskType().orElse(null));
    }

    /** {@code base_model_name_or_path}. */
    public Optional<String> baseModelNameOrPath() {
        return text("base_model_name_or_path");
    }

    /** {@code revision} of the base model. */
    public Optional<String> revision() {
        return text("revision");
    }

    /** {@code peft_version} of the PEFT release that wrote the file. */
    public Optional<String> peftVersion() {
        return text("peft_version");
    }

    /** {@code layers_to_transform} (a single int in the file becomes a one-element list); empty = all. */
    public List<Integer> layersToTransform() {
        if (!present("layers_to_transform")) {
            return List.of();
        }
        JsonNode v = json.get("layers_to_transform");
        if (v.isNumber()) {
            return List.of(v.intValue());
        }
        List<Integer> out = new ArrayList<>();
        v.forEach(n -> out.add(n.intValue()));
        return Collections.unmodifiableList(out);
    }

    /**
     * {@code layers_pattern} (a single string becomes a one-element list); empty when absent, and
     * for an empty string, which PEFT reads as its default pattern.
     */
    public List<String> layersPattern() {
        if (present("layers_pattern") && json.get("layers_pattern").isTextual()) {
            String pattern = json.get("layers_pattern").textValue();
            return pattern.isEmpty() ? List.of() : List.of(pattern);
        }
        return strings("layers_pattern");
    }

    // ---- per-module values -----------------------------------------------------------------

    /**
     * The rank PEFT gives {@code module} (a base-model module name such as {@code
     * distilbert.transformer.layer.0.attention.q_lin}): the value of the first {@code rank_pattern}
     * key, in file order, that matches the module, else {@code r}. A key matches when, read as a
     * regex, it matches the whole name or the part after some dot — {@code (.*\.)?(key)} must match
     * the whole name — so a plain suffix {@code q_lin}, a full name, and a regex like {@code
     * layer\.[0-2]\.attention\.q_lin} all work (PEFT ≥ 0.14's {@code get_pattern_key}).
     */
    public int rankFor(String module) {
        Map<String, Integer> pattern = rankPattern();
        return pattern.getOrDefault(patternKey(pattern.keySet(), module), r());
    }

    /** The alpha PEFT gives {@code module}: {@code alpha_pattern} by the rule of {@link #rankFor}, else {@code lora_alpha}. */
    public double alphaFor(String module) {
        Map<String, Double> pattern = alphaPattern();
        return pattern.getOrDefault(patternKey(pattern.keySet(), module), loraAlpha());
    }

    private static String patternKey(Iterable<String> keys, String module) {
        try {
            return ModuleNames.patternKey(keys, module);
        } catch (BoundedRegex.TooExpensive e) {
            throw new PeftConfigException(e.getMessage());
        }
    }

    /** The adapter scaling for {@code module}: {@code alpha / r}, or {@code alpha / sqrt(r)} with rsLoRA. */
    public double scalingFor(String module) {
        double r = rankFor(module);
        return alphaFor(module) / (useRslora() ? Math.sqrt(r) : r);
    }

    /**
     * Whether PEFT puts an adapter on {@code module}, from its name alone: not excluded by {@code
     * exclude_modules} (list or regex), not inside a {@code modules_to_save} module, and selected by
     * {@code target_modules} (see {@link TargetModules#matches}), where a list entry that is not the
     * whole name is further restricted by {@code layers_to_transform} (the layer index read with
     * {@code layers_pattern}). False when there are no target modules. The rule is lora4j's one
     * matcher, shared with {@code LoraConfig}.
     *
     * @throws UnsupportedOperationException for {@code "all-linear"}, which needs the model: use
     *     {@link #targetedModules(Module)}
     * @throws PeftConfigException when a regex backtracks catastrophically on {@code module}
     */
    public boolean targets(String module) {
        if (targetModules().isEmpty()) {
            return false;
        }
        if (targetModules().get().isAllLinear()) {
            throw new UnsupportedOperationException("'all-linear' target modules depend on the model's layer types;"
                    + " use targetedModules(model)");
        }
        try {
            return selection().matches(module);
        } catch (BoundedRegex.TooExpensive e) {
            throw new PeftConfigException(e.getMessage());
        }
    }

    /**
     * The module paths of {@code model} PEFT puts an adapter on, in the model's order: those {@link
     * #targets(String)} selects, or for {@code "all-linear"} every {@code Linear} except the model's
     * output layer (the {@code lm_head} of a language model, or with {@code task_type} {@code
     * SEQ_CLS} the {@code score}/{@code classifier} head; see {@code LoraConfig#targetedModules}),
     * less the exclusions. Empty when there are no target modules. Module types are not checked.
     *
     * @throws PeftConfigException when a regex backtracks catastrophically on a path
     */
    public Set<String> targetedModules(Module model) {
        return targetedModules(model.namedModules());
    }

    /** {@link #targetedModules(Module)} over a model's {@code namedModules()}. */
    public Set<String> targetedModules(Map<String, Module> modules) {
        if (targetModules().isEmpty()) {
            return Set.of();
        }
        try {
            return selection().select(modules);
        } catch (BoundedRegex.TooExpensive e) {
            throw new PeftConfigException(e.getMessage());
        }
    }

    /**
     * Why {@link #targetedModules(Map)} finds nothing, naming the field at fault, or {@code null}
     * when {@code target_modules} simply names no module (see {@code TargetSelection#whyNothing}).
     */
    public @Nullable String whyNothingTargeted(Map<String, Module> modules) {
        return targetModules().isEmpty() ? null : selection().whyNothing(modules);
    }

    /** PEFT's selection fields as lora4j's one matcher; targets must be present. */
    private TargetSelection selection() {
        TargetModules targets = targetModules().orElseThrow();
        Optional<TargetModules> exclude = excludeModules();
        boolean excludeRegex = exclude.isPresent() && exclude.get().isRegex();
        return new TargetSelection(targets.isRegex() ? List.of() : targets.names(),
                targets.isRegex() && !targets.isAllLinear() ? targets.regex() : null, targets.isAllLinear(),
                exclude.isPresent() && !excludeRegex ? exclude.get().names() : List.of(),
                excludeRegex ? exclude.get().regex() : null, modulesToSave(), layersToTransform(), layersPattern(),
                isSequenceClassification());
    }

    // ---- modified copies ---------------------------------------------------------------------

    /** A copy with {@code field} set to {@code value} (a JSON value; {@code null} for JSON null). */
    public PeftAdapterConfig withField(String field, @Nullable JsonNode value) {
        ObjectNode copy = json.deepCopy();
        copy.set(field, value == null ? NullNode.instance : value.deepCopy());
        return new PeftAdapterConfig(copy, source);
    }

    /** A copy with {@code r}. */
    public PeftAdapterConfig withR(int r) {
        return withField("r", IntNode.valueOf(r));
    }

    /** A copy with {@code lora_alpha} (written as an integer when whole). */
    public PeftAdapterConfig withLoraAlpha(double alpha) {
        return withField("lora_alpha", number(alpha));
    }

    /** A copy with {@code lora_dropout}. */
    public PeftAdapterConfig withLoraDropout(double dropout) {
        return withField("lora_dropout", DoubleNode.valueOf(dropout));
    }

    /** A copy with {@code target_modules}. */
    public PeftAdapterConfig withTargetModules(TargetModules targets) {
        return withField("target_modules", toJson(targets));
    }

    /** A copy with {@code exclude_modules} ({@code null} for none). */
    public PeftAdapterConfig withExcludeModules(@Nullable TargetModules exclude) {
        return withField("exclude_modules", exclude == null ? null : toJson(exclude));
    }

    /** A copy with {@code layers_to_transform} (an empty list is written as null, PEFT's "every layer"). */
    public PeftAdapterConfig withLayersToTransform(List<Integer> layers) {
        ArrayNode a = NODES.arrayNode();
        layers.forEach(a::add);
        return withField("layers_to_transform", layers.isEmpty() ? null : a);
    }

    /**
     * A copy with {@code layers_pattern}: one pattern is written as a string, several as a list, none
     * as null.
     */
    public PeftAdapterConfig withLayersPattern(List<String> patterns) {
        return withField("layers_pattern", patterns.isEmpty() ? null
                : patterns.size() == 1 ? TextNode.valueOf(patterns.get(0)) : stringArray(patterns));
    }

    /** A copy with {@code modules_to_save} ({@code null} for none). */
    public PeftAdapterConfig withModulesToSave(@Nullable List<String> modules) {
        return withField("modules_to_save", modules == null ? null : stringArray(modules));
    }

    /** A copy with {@code rank_pattern} (iteration order kept). */
    public PeftAdapterConfig withRankPattern(Map<String, Integer> pattern) {
        ObjectNode o = NODES.objectNode();
        pattern.forEach((k, v) -> o.put(k, v));
        return withField("rank_pattern", o);
    }

    /** A copy with {@code alpha_pattern} (iteration order kept; whole values written as integers). */
    public PeftAdapterConfig withAlphaPattern(Map<String, Double> pattern) {
        ObjectNode o = NODES.objectNode();
        pattern.forEach((k, v) -> o.set(k, number(v)));
        return withField("alpha_pattern", o);
    }

    /** A copy with {@code bias}. */
    public PeftAdapterConfig withBias(BiasMode bias) {
        return withField("bias", TextNode.valueOf(bias.peftName()));
    }

    /** A copy with {@code use_rslora}. */
    public PeftAdapterConfig withUseRslora(boolean rslora) {
        return withField("use_rslora", NODES.booleanNode(rslora));
    }

    /** A copy with {@code use_dora}. */
    public PeftAdapterConfig withUseDora(boolean dora) {
        return withField("use_dora", NODES.booleanNode(dora));
    }

    /**
     * A copy with {@code init_lora_weights}: KAIMING_UNIFORM → true, GAUSSIAN → "gaussian", RANDOM →
     * false, OLORA → "olora", PISSA → "pissa" (the exact SVD).
     */
    public PeftAdapterConfig withInitLoraWeights(LoraInit init) {
        return withInitLoraWeights(init, -1);
    }

    /**
     * A copy with {@code init_lora_weights} as {@link #withInitLoraWeights(LoraInit)}, PISSA with
     * {@code pissaNiter} at least 0 as {@code "pissa_niter_<pissaNiter>"}.
     *
     * @throws IllegalArgumentException for {@code pissaNiter} below -1, or at least 0 with another init
     */
    public PeftAdapterConfig withInitLoraWeights(LoraInit init, int pissaNiter) {
        Object value = new AdapterSettings(1, 1, 0, false, init, false, pissaNiter).peftInit();
        return withField("init_lora_weights", value instanceof Boolean b ? NODES.booleanNode(b) : TextNode.valueOf((String) value));
    }

    /** A copy with {@code task_type} ({@code null} for none). */
    public PeftAdapterConfig withTaskType(@Nullable String taskType) {
        return withField("task_type", taskType == null ? null : TextNode.valueOf(taskType));
    }

    /** A copy with {@code base_model_name_or_path} ({@code null} for none). */
    public PeftAdapterConfig withBaseModelNameOrPath(@Nullable String base) {
        return withField("base_model_name_or_path", base == null ? null : TextNode.valueOf(base));
    }

    /** A copy with {@code inference_mode}. */
    public PeftAdapterConfig withInferenceMode(boolean inferenceMode) {
        return withField("inference_mode", NODES.booleanNode(inferenceMode));
    }

    /** Equal when the JSON objects are equal (the source name is ignored). */
    @Override
    public boolean equals(Object o) {
        return o instanceof PeftAdapterConfig && json.equals(((PeftAdapterConfig) o).json);
    }

    @Override
    public int hashCode() {
        return json.hashCode();
    }

    /** The JSON text, as written. */
    @Override
    public String toString() {
        return toJsonString();
    }

    // ---- helpers -----------------------------------------------------------------------------

    private boolean present(String field) {
        JsonNode v = json.get(field);
        return v != null && !v.isNull();
    }

    private boolean flag(String field) {
        return present(field) && json.get(field).booleanValue();
    }

    private Optional<String> text(String field) {
        return present(field) ? Optional.of(json.get(field).textValue()) : Optional.empty();
    }

    private List<String> strings(String field) {
        if (!present(field)) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        json.get(field).forEach(n -> out.add(n.textValue()));
        return Collections.unmodifiableList(out);
    }

    private Optional<TargetModules> modules(String field) {
        if (!present(field)) {
            return Optional.empty();
        }
        JsonNode v = json.get(field);
        return Optional.of(v.isTextual() ? TargetModules.regex(v.textValue()) : TargetModules.names(strings(field)));
    }

    private static JsonNode toJson(TargetModules modules) {
        return modules.isRegex() ? TextNode.valueOf(modules.regex()) : stringArray(modules.names());
    }

    private static ArrayNode stringArray(List<String> values) {
        ArrayNode a = NODES.arrayNode();
        values.forEach(a::add);
        return a;
    }

    private static JsonNode number(double v) {
        if (v == Math.rint(v) && Math.abs(v) <= Integer.MAX_VALUE) {
            return IntNode.valueOf((int) v);
        }
        return DoubleNode.valueOf(v);
    }
}
