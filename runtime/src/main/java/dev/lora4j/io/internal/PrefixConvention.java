package dev.lora4j.io.internal;

import dev.lora4j.io.AdapterException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * How a base checkpoint names the adapter's modules, learned from the tensors that matched: the
 * leading wrapper the base drops or swaps ({@code distilbert.transformer.layer.0...} in the adapter,
 * {@code transformer.layer.0...} in a checkpoint saved from {@code DistilBertModel}). Applied to an
 * adapter tensor the base lacks, it gives the name the merged checkpoint stores it under: a name
 * inside such a wrapper loses it as its neighbours did; a name outside every wrapper, as a
 * Hugging Face classification head is ({@code classifier.weight}, GPT-2's {@code score.weight}),
 * keeps its name. A prefix is only ever removed or swapped, never added to a name that lacks it.
 */
final class PrefixConvention {

    /** Adapter prefix (non-empty, ending in a dot) → the base prefixes seen in its place. */
    private final Map<String, Set<String>> rules = new LinkedHashMap<>();

    /** Records that the adapter's {@code adapterName} is the base's {@code baseName}. */
    void learn(String adapterName, String baseName) {
        String[] a = adapterName.split("\\.");
        String[] b = baseName.split("\\.");
        int common = 0;
        while (common < Math.min(a.length, b.length) && a[a.length - 1 - common].equals(b[b.length - 1 - common])) {
            common++;
        }
        String adapterPrefix = prefix(a, a.length - common);
        if (!adapterPrefix.isEmpty()) {
            rules.computeIfAbsent(adapterPrefix, k -> new LinkedHashSet<>()).add(prefix(b, b.length - common));
        }
    }

    /**
     * The base-convention name of the adapter's {@code adapterName}.
     *
     * @param source what asks, for the message
     * @throws AdapterException when the matched tensors disagree on how to rename it
     */
    String apply(String adapterName, String source) {
        Set<String> names = new LinkedHashSet<>();
        rules.forEach((adapterPrefix, basePrefixes) -> {
            if (adapterName.startsWith(adapterPrefix)) {
                basePrefixes.forEach(basePrefix -> names.add(basePrefix + adapterName.substring(adapterPrefix.length())));
            }
        });
        if (names.size() > 1) {
            throw new AdapterException(source + " is not in the base, and the base names its neighbours in more than one"
                    + " way, so its name in the merged checkpoint is ambiguous: " + names);
        }
        return names.isEmpty() ? adapterName : names.iterator().next();
    }

    private static String prefix(String[] segments, int count) {
        return count == 0 ? "" : String.join(".", Arrays.asList(segments).subList(0, count)) + ".";
    }
}
