package dev.lora4j.io;

import dev.lora4j.lora.internal.BoundedRegex;
import dev.lora4j.lora.internal.ModuleNames;
import dev.lora4j.lora.internal.TargetSelection;
import dev.lora4j.nn.Module;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * PEFT's {@code target_modules} (or {@code exclude_modules}): either a list of module-name
 * suffixes or a single regular expression.
 *
 * <p>Matching follows PEFT: a regex must match the whole module name ({@code re.fullmatch}); a list
 * entry matches a module whose name equals it or ends with {@code "." + entry}. Module names are the
 * base model's own ({@code distilbert.transformer.layer.0.attention.q_lin}), without PEFT's {@code
 * base_model.model.} prefix. Regexes are compiled with {@link Pattern}, whose syntax agrees with
 * Python's {@code re} for the usual constructs. PEFT's special value {@code "all-linear"} (any case,
 * as PEFT compares it) selects every Linear layer except the model's output layer, so it needs the
 * model: {@link #select(Module)} expands it, {@link #matches(String)} cannot.
 */
public final class TargetModules {

    /** PEFT's shorthand for "every linear layer except the output layer". */
    public static final String ALL_LINEAR = TargetSelection.ALL_LINEAR;

    private final @Nullable List<String> names;
    private final @Nullable String regex;

    private TargetModules(@Nullable List<String> names, @Nullable String regex) {
        this.names = names;
        this.regex = regex;
        if (regex != null && !TargetSelection.isAllLinear(regex)) {
            Pattern.compile(regex); // a regex that does not compile is refused here, not at the first match
        }
    }

    /** A list of module-name suffixes (kept in order, duplicates included, as PEFT writes them). */
    public static TargetModules names(List<String> names) {
        for (String name : names) {
            Objects.requireNonNull(name, "target module name");
        }
        return new TargetModules(List.copyOf(names), null);
    }

    /** A list of module-name suffixes. */
    public static TargetModules names(String... names) {
        return names(List.of(names));
    }

    /**
     * A regular expression that must match a whole module name.
     *
     * @throws java.util.regex.PatternSyntaxException if it does not compile
     */
    public static TargetModules regex(String regex) {
        return new TargetModules(null, Objects.requireNonNull(regex, "regex"));
    }

    /** Whether this is a single regex (a JSON string) rather than a list. */
    public boolean isRegex() {
        return regex != null;
    }

    /** Whether this is PEFT's {@code "all-linear"} shorthand (compared ignoring case, as PEFT does). */
    public boolean isAllLinear() {
        return TargetSelection.isAllLinear(regex);
    }

    /**
     * The names of the list form (unmodifiable).
     *
     * @throws IllegalStateException for the regex form
     */
    public List<String> names() {
        if (names == null) {
            throw new IllegalStateException("target modules are the regex '" + regex + "', not a list");
        }
        return names;
    }

    /**
     * The regex of the regex form.
     *
     * @throws IllegalStateException for the list form
     */
    public String regex() {
        if (regex == null) {
            throw new IllegalStateException("target modules are the list " + names + ", not a regex");
        }
        return regex;
    }

    /**
     * Whether {@code moduleName} is selected: a full regex match, or equality with or a
     * {@code "." + name} suffix of a list entry.
     *
     * @throws UnsupportedOperationException for {@code "all-linear"}, which needs the model ({@link
     *     #select(Module)})
     * @throws PeftConfigException when the regex backtracks catastrophically on {@code moduleName}
     *     (see {@link BoundedRegex})
     */
    public boolean matches(String moduleName) {
        if (isAllLinear()) {
            throw new UnsupportedOperationException("'all-linear' target modules depend on the model's layer types;"
                    + " use select(model)");
        }
        if (names != null) {
            return ModuleNames.inList(names, moduleName);
        }
        try {
            return ModuleNames.fullMatch(regex, moduleName, "regex");
        } catch (BoundedRegex.TooExpensive e) {
            throw new PeftConfigException(e.getMessage());
        }
    }

    /**
     * The module paths of {@code model} these target modules select on their own (no exclusions, no
     * {@code layers_to_transform}: {@link PeftAdapterConfig#targetedModules(Module)} applies the whole
     * config), in the model's order; for {@code "all-linear"} every Linear except the model's output
     * layer ({@code lm_head} and the like, see {@code LoraConfig#targetedModules}).
     *
     * @throws PeftConfigException when the regex backtracks catastrophically on a path
     */
    public Set<String> select(Module model) {
        TargetSelection selection = new TargetSelection(names == null ? List.of() : names,
                regex != null && !isAllLinear() ? regex : null, isAllLinear(), List.of(), null, List.of(), List.of(),
                List.of(), false);
        try {
            return selection.select(model.namedModules());
        } catch (BoundedRegex.TooExpensive e) {
            throw new PeftConfigException(e.getMessage());
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TargetModules
                && Objects.equals(names, ((TargetModules) o).names)
                && Objects.equals(regex, ((TargetModules) o).regex);
    }

    @Override
    public int hashCode() {
        return Objects.hash(names, regex);
    }

    /** The list or the quoted regex. */
    @Override
    public String toString() {
        return regex != null ? "\"" + regex + "\"" : names.toString();
    }
}
