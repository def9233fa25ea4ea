package dev.lora4j.lora.internal;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * PEFT's rules for selecting modules by name (as of PEFT 0.20), the one place lora4j applies them:
 * to an in-memory {@code LoraConfig}, to an {@code adapter_config.json}, to target specs and to the
 * model-free merge alike. Names are the base model's own module paths, such as {@code
 * encoder.layer.3.attention.q_lin}. Every regex runs under {@link BoundedRegex}'s work limit (a
 * config file can hold a catastrophically backtracking pattern) and is compiled once per process.
 */
public final class ModuleNames {

    /** Compiled patterns by their source; the sources come from configs, so there are few. */
    private static final Map<String, Pattern> COMPILED = new ConcurrentHashMap<>();

    private ModuleNames() {}

    /**
     * Whether {@code module} is selected by a list of names: equal to an entry or ending with
     * {@code "." + entry} (PEFT's list form of {@code target_modules} and {@code exclude_modules}).
     */
    public static boolean inList(List<String> names, String module) {
        for (String name : names) {
            if (module.equals(name) || module.endsWith("." + name)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code regex} matches the whole of {@code module} (PEFT's string form of {@code
     * target_modules}: {@code re.fullmatch}).
     *
     * @param what names the pattern in an error, e.g. {@code target_modules regex}
     * @throws java.util.regex.PatternSyntaxException when the regex does not compile
     * @throws BoundedRegex.TooExpensive when matching backtracks catastrophically
     */
    public static boolean fullMatch(String regex, String module, String what) {
        return BoundedRegex.matches(compiled(regex), module, what + " '" + regex + "'");
    }

    /**
     * The first key of {@code keys} (in iteration order) that matches {@code module}: the key, read
     * as a regex, must match the whole name or a part of it that follows a dot, i.e. {@code
     * (.*\.)?(key)} matches the whole name. So {@code q_lin} matches {@code layer.0.q_lin} (but not
     * {@code layer.0.xq_lin}), {@code layer\.0\..*} matches every module of layer 0, and a full name
     * matches itself. When no key matches, {@code module} itself is returned, so a literal lookup
     * still finds a key equal to the name. This is PEFT's {@code get_pattern_key}, used for {@code
     * rank_pattern} and {@code alpha_pattern}.
     */
    public static String patternKey(Iterable<String> keys, String module) {
        for (String key : keys) {
            if (BoundedRegex.matches(compiled("(.*\\.)?(" + key + ")"), module, "pattern key '" + key + "'")) {
                return key;
            }
        }
        return module;
    }

    /**
     * Whether {@code module} lies in (or is) one of {@code modulesToSave}: an entry {@code m}, read
     * as a regex, selects names matching {@code (^|.*\.)m($|\..*)}. PEFT never puts an adapter on
     * such a module.
     */
    public static boolean isInModulesToSave(String module, List<String> modulesToSave) {
        for (String m : modulesToSave) {
            if (BoundedRegex.matches(compiled("(^|.*\\.)" + m + "($|\\..*)"), module,
                    "modules_to_save entry '" + m + "'")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code module} sits in one of the layers {@code layers} (PEFT's {@code
     * layers_to_transform}): its {@link #layerIndex} is one of them. A name without a layer index is
     * not selected.
     */
    public static boolean inLayers(String module, List<Integer> layers, List<String> layersPattern) {
        @Nullable Integer index = layerIndex(module, layersPattern);
        return index != null && layers.contains(index);
    }

    /**
     * The layer index PEFT reads from {@code module} for {@code layers_to_transform}, or {@code
     * null}: the first number segment that follows a segment named by one of {@code layersPattern}
     * (tried in order; each is a regex for one segment) or, when that is empty, any segment, that
     * segment being preceded by at least one other segment and followed by a further one. So {@code
     * model.layers.12.mlp} is layer 12, {@code model.layers.1.experts.0.w} layer 1, and {@code
     * layers.0.query} (the list at the top) has no index, as in PEFT ({@code re.match(r".*?\.[^.]*\.(\d+)\.",
     * key)}, or {@code rf".*?\.{pattern}\.(\d+)\."}).
     *
     * @throws BoundedRegex.TooExpensive when a pattern backtracks catastrophically
     */
    public static @Nullable Integer layerIndex(String module, List<String> layersPattern) {
        if (layersPattern.isEmpty()) {
            return leadingIndex(compiled(".*?\\.[^.]*\\.(\\d+)\\."), module);
        }
        for (String p : layersPattern) {
            Integer index = leadingIndex(compiled(".*?\\." + p + "\\.(\\d+)\\."), module);
            if (index != null) {
                return index;
            }
        }
        return null;
    }

    private static @Nullable Integer leadingIndex(Pattern pattern, String module) {
        Matcher m = BoundedRegex.lookingAt(pattern, module, "layers_pattern regex '" + pattern + "'");
        if (m == null) {
            return null;
        }
        try {
            return Integer.valueOf(m.group(1));
        } catch (NumberFormatException e) {
            return null; // more digits than any model has layers
        }
    }

    private static Pattern compiled(String regex) {
        Pattern pattern = COMPILED.get(regex);
        if (pattern == null) {
            pattern = Pattern.compile(regex);
            if (COMPILED.size() < 4096) { // a bound against configs generated without end
                COMPILED.put(regex, pattern);
            }
        }
        return pattern;
    }
}
