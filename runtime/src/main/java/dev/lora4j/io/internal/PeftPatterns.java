package dev.lora4j.io.internal;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEFT's name-matching rules (as of PEFT 0.20), re-stated in Java for module names of the base
 * model such as {@code encoder.layer.3.attention.q_lin}.
 */
public final class PeftPatterns {

    private PeftPatterns() {}

    /**
     * The first key of {@code keys} (in iteration order) that matches {@code module}: the key, read
     * as a regex, must match the whole name or a part of it that follows a dot, i.e. {@code
     * (.*\.)?(key)} matches the whole name. So {@code q_lin} matches {@code layer.0.q_lin} (but not
     * {@code layer.0.xq_lin}), {@code layer\.0\..*} matches every module of layer 0, and a full name
     * matches itself. When no key matches, {@code module} itself is returned, so a literal lookup
     * still finds a key equal to the name. This is PEFT's {@code get_pattern_key}.
     */
    public static String patternKey(Iterable<String> keys, String module) {
        for (String key : keys) {
            if (BoundedRegex.matches(Pattern.compile("(.*\\.)?(" + key + ")"), module, "pattern key '" + key + "'")) {
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
            if (BoundedRegex.matches(Pattern.compile("(^|.*\\.)" + m + "($|\\..*)"), module,
                    "modules_to_save entry '" + m + "'")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code module} sits in one of the layers {@code layers} (PEFT's {@code
     * layers_to_transform}): the layer index is the first number segment following a segment
     * named by one of {@code layersPattern} (any segment when that is empty) and a further dot, as
     * in {@code model.layers.12.mlp}. A name without such a segment is not selected.
     */
    public static boolean inLayers(String module, List<Integer> layers, List<String> layersPattern) {
        Integer index = null;
        if (layersPattern.isEmpty()) {
            index = leadingIndex(Pattern.compile(".*?\\.[^.]*\\.(\\d+)\\."), module);
        } else {
            for (String p : layersPattern) {
                index = leadingIndex(Pattern.compile(".*?\\." + p + "\\.(\\d+)\\."), module);
                if (index != null) {
                    break;
                }
            }
        }
        return index != null && layers.contains(index);
    }

    private static Integer leadingIndex(Pattern pattern, String module) {
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
}
