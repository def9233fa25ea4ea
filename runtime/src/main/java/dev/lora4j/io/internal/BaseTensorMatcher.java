package dev.lora4j.io.internal;

import dev.lora4j.io.AdapterException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Finds the base checkpoint tensor for a tensor name from an adapter, tolerating the wrapper
 * prefixes Hugging Face model classes add around the same layers ({@code model.}, {@code
 * transformer.}, {@code distilbert.}, {@code bert.}, ...): an adapter trained on {@code
 * DistilBertForSequenceClassification} names {@code distilbert.transformer.layer.0...}, while a
 * checkpoint saved from {@code DistilBertModel} names {@code transformer.layer.0...}.
 *
 * <p>An exact name wins. Otherwise the names match when they agree after removing up to two
 * leading wrapper prefixes from either side. No match, or more than one, is an {@link
 * AdapterException} listing the candidates: never a silent skip or guess.
 */
public final class BaseTensorMatcher {

    /** Leading module names that Hugging Face model classes wrap around a shared body. */
    public static final List<String> WRAPPERS = List.of(
            "model.", "transformer.", "distilbert.", "bert.", "roberta.", "deberta.", "albert.", "electra.",
            "gpt_neox.", "language_model.", "base_model.", "backbone.");

    private static final int MAX_STRIPPED = 2;
    private static final int MAX_LISTED = 8;

    private final Set<String> names;
    private final Map<String, List<String>> byCanonical = new HashMap<>();

    /** A matcher over the base checkpoint's tensor names. */
    public BaseTensorMatcher(Collection<String> baseNames) {
        this.names = new LinkedHashSet<>(baseNames);
        for (String name : names) {
            for (String form : forms(name)) {
                byCanonical.computeIfAbsent(form, k -> new ArrayList<>()).add(name);
            }
        }
    }

    /**
     * The base tensor for {@code wanted} (a module path plus parameter name, without PEFT's {@code
     * base_model.model.} prefix).
     *
     * @param source what asks, for the message, e.g. {@code adapter module 'x.q_lin'}
     * @throws AdapterException when no base tensor, or more than one, matches
     */
    public String match(String wanted, String source) {
        return find(wanted, source).orElseThrow(() -> new AdapterException(source + " matches no base tensor: looked for '"
                + wanted + "' with and without the wrapper prefixes " + WRAPPERS + "; base tensors ending in '"
                + tail(wanted) + "': " + listed(endingWith(tail(wanted)))));
    }

    /**
     * Like {@link #match}, but empty when no base tensor matches.
     *
     * @throws AdapterException when more than one base tensor matches
     */
    public Optional<String> find(String wanted, String source) {
        if (names.contains(wanted)) {
            return Optional.of(wanted);
        }
        Set<String> found = new LinkedHashSet<>();
        for (String form : forms(wanted)) {
            found.addAll(byCanonical.getOrDefault(form, List.of()));
        }
        if (found.size() > 1) {
            throw new AdapterException(source + " matches " + found.size() + " base tensors (" + listed(found)
                    + "); rename the base tensors or the adapter's modules so that one matches exactly '" + wanted + "'");
        }
        return found.stream().findFirst();
    }

    /** {@code name} and the names left after removing 1..2 leading wrapper prefixes. */
    private static List<String> forms(String name) {
        List<String> out = new ArrayList<>();
        out.add(name);
        String current = name;
        for (int i = 0; i < MAX_STRIPPED; i++) {
            String stripped = stripOne(current);
            if (stripped == null) {
                break;
            }
            out.add(stripped);
            current = stripped;
        }
        return out;
    }

    private static String stripOne(String name) {
        for (String wrapper : WRAPPERS) {
            if (name.startsWith(wrapper) && name.length() > wrapper.length()) {
                return name.substring(wrapper.length());
            }
        }
        return null;
    }

    /** The last two dot-separated segments, e.g. {@code q_lin.weight}. */
    private static String tail(String name) {
        int last = name.lastIndexOf('.');
        int before = last <= 0 ? -1 : name.lastIndexOf('.', last - 1);
        return name.substring(before + 1);
    }

    private List<String> endingWith(String tail) {
        List<String> out = new ArrayList<>();
        for (String name : names) {
            if (name.equals(tail) || name.endsWith("." + tail)) {
                out.add(name);
            }
        }
        return out;
    }

    private static String listed(Collection<String> names) {
        if (names.isEmpty()) {
            return "none";
        }
        List<String> shown = new ArrayList<>(names).subList(0, Math.min(MAX_LISTED, names.size()));
        return shown + (names.size() > MAX_LISTED ? " and " + (names.size() - MAX_LISTED) + " more" : "");
    }
}
