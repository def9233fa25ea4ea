package dev.lora4j.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.lora4j.agent.internal.LoraTransformer;
import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.internal.StrictJsonObjects;
import dev.lora4j.io.PeftConfigConverter;
import dev.lora4j.io.PeftConfigException;
import dev.lora4j.lora.LoraConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Model classes the agent adapts without annotations, and how: a {@link LoraConfig} plus the
 * binary names of the classes it applies to. For third-party models that cannot carry
 * {@code @LoRA}.
 *
 * <h2>As a file: {@code -javaagent:lora4j-runtime.jar=config=lora.json}</h2>
 *
 * <p>The JSON object uses PEFT's {@code LoraConfig} field names (converted as {@link
 * PeftConfigConverter} describes; {@code peft_type} may be left out) plus one field of lora4j's own,
 * {@value #MODEL_CLASSES}: the binary names of the model classes to adapt (nested classes with
 * {@code $}).
 *
 * <pre>{@code
 * {
 *   "lora4j_model_classes": ["com.acme.Encoder"],
 *   "r": 8,
 *   "lora_alpha": 16,
 *   "lora_dropout": 0.05,
 *   "target_modules": ["query", "value"],
 *   "exclude_modules": ["layers.0.attention.query"],
 *   "rank_pattern": {"value": 4},
 *   "alpha_pattern": {"value": 8},
 *   "modules_to_save": ["classifier"]
 * }
 * }</pre>
 *
 * <p>{@code target_modules} may also be one regex string matched against whole module paths
 * ({@code "layers\\.[0-3]\\.attention\\.(query|value)"}) or {@code "all-linear"} (every Linear
 * but the model's output layer); {@code exclude_modules} a list or a regex; {@code
 * layers_to_transform} and {@code layers_pattern} restrict a list of targets to some layers. The
 * layers are chosen by PEFT's rule, as for {@link LoraConfig#targetedModules}. Every problem — not JSON, a field with the
 * wrong type or value, a PEFT feature lora4j does not implement, a missing or malformed class list,
 * a misspelt {@code lora4j_} field — is a {@link PeftConfigException} with one line naming the file
 * and the field; the agent reports it and the JVM does not start.
 *
 * <h2>In code</h2>
 *
 * <pre>{@code
 * LoraAgent.install(LoraConfig.builder().rank(8).alpha(16).targetModules("query", "value").build(),
 *         "com.acme.Encoder");
 * }</pre>
 *
 * <p>What the agent does with a spec, including the rule for subclasses and nested models, is
 * described in {@link LoraAgent}.
 */
public final class TargetSpec {

    /** The JSON field naming the model classes, lora4j's addition to PEFT's fields. */
    public static final String MODEL_CLASSES = "lora4j_model_classes";

    private static final Pattern BINARY_NAME =
            Pattern.compile("\\p{javaJavaIdentifierStart}\\p{javaJavaIdentifierPart}*(\\.\\p{javaJavaIdentifierStart}\\p{javaJavaIdentifierPart}*)*");

    private final LoraConfig config;
    private final List<String> modelClasses;
    private final String source;

    private TargetSpec(LoraConfig config, List<String> modelClasses, String source) {
        this.config = config;
        this.modelClasses = modelClasses;
        this.source = source;
    }

    /**
     * A spec made in code.
     *
     * @param modelClasses binary names of the classes to adapt, e.g. {@code com.acme.Encoder} or
     *     {@code com.acme.Outer$Encoder}
     * @throws IllegalArgumentException for no class, a malformed name, or a class in a package the
     *     agent never instruments (the JDK, lora4j's runtime, its libraries)
     */
    public static TargetSpec of(LoraConfig config, Collection<String> modelClasses) {
        Objects.requireNonNull(config, "config");
        return new TargetSpec(config, checkClasses(modelClasses, "model classes "), "LoraConfig for " + modelClasses);
    }

    /** A spec made in code; see {@link #of(LoraConfig, Collection)}. */
    public static TargetSpec of(LoraConfig config, String... modelClasses) {
        return of(config, Arrays.asList(modelClasses));
    }

    /**
     * Reads a spec file.
     *
     * @throws PeftConfigException with one line naming the file and the field when the content is
     *     not a valid spec
     * @throws IOException when the file cannot be read
     */
    public static TargetSpec read(Path file) throws IOException {
        return of(StrictJsonObjects.read(file), file.toString());
    }

    /**
     * Parses spec JSON; {@code source} names it in messages.
     *
     * @throws PeftConfigException with one line naming {@code source} and the field
     */
    public static TargetSpec parse(String json, String source) {
        return of(StrictJsonObjects.parse(json, source), source);
    }

    private static TargetSpec of(ObjectNode object, String source) {
        for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (name.startsWith("lora4j_") && !name.equals(MODEL_CLASSES)) {
                throw new PeftConfigException(source + ": field '" + name + "' is not known; lora4j's own field is '"
                        + MODEL_CLASSES + "'");
            }
        }
        List<String> classes = modelClasses(object.get(MODEL_CLASSES), source);
        if (!object.has("peft_type") || object.get("peft_type").isNull()) {
            object.set("peft_type", TextNode.valueOf("LORA"));
        }
        LoraConfig config = PeftConfigConverter.toLoraConfig(PeftAdapterConfig.fromJson(object, source));
        return new TargetSpec(config, classes, source);
    }

    private static List<String> modelClasses(JsonNode node, String source) {
        String prefix = source + ": field '" + MODEL_CLASSES + "' ";
        if (node == null || node.isNull()) {
            throw new PeftConfigException(prefix + "is missing: list the binary names of the model classes to adapt, "
                    + "e.g. [\"com.acme.Encoder\"]");
        }
        if (!node.isArray()) {
            throw new PeftConfigException(prefix + "must be a list of class names, got " + node);
        }
        List<String> names = new ArrayList<>();
        for (JsonNode item : node) {
            if (!item.isTextual()) {
                throw new PeftConfigException(prefix + "must hold only strings, found " + item);
            }
            names.add(item.textValue());
        }
        try {
            return checkClasses(names, "");
        } catch (IllegalArgumentException e) {
            throw new PeftConfigException(prefix + e.getMessage(), e);
        }
    }

    private static List<String> checkClasses(Collection<String> names, String prefix) {
        if (names.isEmpty()) {
            throw new IllegalArgumentException(prefix + "is empty; name at least one model class");
        }
        for (String name : names) {
            if (name == null || !BINARY_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException(prefix + "holds '" + name + "', which is not a binary class name such as "
                        + "com.acme.Encoder or com.acme.Outer$Encoder");
            }
            if (LoraTransformer.isIgnored(name)) {
                throw new IllegalArgumentException(prefix + "holds " + name + ", which is in a package the agent never instruments "
                        + "(the JDK, lora4j's runtime and its libraries); adapt it with Lora.wrap(model, config)");
            }
        }
        return List.copyOf(new LinkedHashSet<>(names));
    }

    /** How the named classes are adapted. */
    public LoraConfig config() {
        return config;
    }

    /** The binary names of the model classes, in the order given, without duplicates. */
    public List<String> modelClasses() {
        return modelClasses;
    }

    /** Where the spec came from: the file name, or a description of the code-made spec. */
    public String source() {
        return source;
    }

    @Override
    public String toString() {
        return "TargetSpec{" + source + ": " + modelClasses + ", " + config + "}";
    }

}
