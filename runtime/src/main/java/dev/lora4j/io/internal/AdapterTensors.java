package dev.lora4j.io.internal;

import dev.lora4j.io.AdapterException;
import dev.lora4j.io.SafetensorsHeader;
import dev.lora4j.io.TensorInfo;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The tensors of a PEFT LoRA {@code adapter_model.safetensors}, grouped by module.
 *
 * <p>PEFT's {@code get_peft_model_state_dict} (0.20) names a saved tensor after the parameter in
 * the {@code PeftModel} minus the adapter name: {@code base_model.model.<module path>.lora_A.weight}
 * and {@code .lora_B.weight} for a linear layer (its factors are {@code nn.Linear} modules), and
 * {@code base_model.model.<module path>.lora_embedding_A} / {@code lora_embedding_B} for an
 * embedding (its factors are bare {@code nn.Parameter}s, so no {@code .weight}). A convolution's
 * factors are {@code nn.Conv2d} modules under the linear names, 4-d: {@code lora_A.weight [r, in,
 * kh, kw]} and {@code lora_B.weight [out, r/groups, 1, 1]}. A DoRA adapter (PEFT's {@code
 * use_dora}) adds {@code base_model.model.<module path>.lora_magnitude_vector [out]} per module
 * ({@code [1, out, 1, 1]} for a convolution):
 * PEFT's {@code LoraModel._get_adapter_state_dict} strips the {@code .weight} of the in-memory
 * {@code lora_magnitude_vector.<adapter>.weight}, and its loader also takes the name with {@code
 * .weight}, so both are read; the first is written. Everything else in
 * the file ({@code modules_to_save} parameters such as {@code base_model.model.classifier.weight},
 * biases) is kept by name as "other" tensors.
 */
public final class AdapterTensors {

    /** The prefix every key carries: PEFT's {@code PeftModel.base_model.model}. */
    public static final String PREFIX = "base_model.model.";

    private static final String A = ".lora_A.weight";
    private static final String B = ".lora_B.weight";
    private static final String EMBEDDING_A = ".lora_embedding_A";
    private static final String EMBEDDING_B = ".lora_embedding_B";
    private static final String MAGNITUDE = ".lora_magnitude_vector";
    private static final String MAGNITUDE_WEIGHT = MAGNITUDE + ".weight";

    /**
     * One adapted module's factors.
     *
     * @param module the module path, without {@link #PREFIX}
     * @param embedding whether the keys are the embedding ones
     * @param magnitude DoRA's magnitude vector, or {@code null} for a plain LoRA adapter
     */
    public record Pair(String module, boolean embedding, TensorInfo a, TensorInfo b, @Nullable TensorInfo magnitude) {
        /** The rank, from A's first dimension. */
        public long rank() {
            return a.shape()[0];
        }

        /** Whether the factors are convolution kernels (4-d) rather than matrices. */
        public boolean convolution() {
            return a.rank() == 4;
        }
    }

    private final Map<String, Pair> pairs;
    private final Map<String, TensorInfo> others;

    private AdapterTensors(Map<String, Pair> pairs, Map<String, TensorInfo> others) {
        this.pairs = Collections.unmodifiableMap(pairs);
        this.others = Collections.unmodifiableMap(others);
    }

    /** The key of module {@code path}'s factor A (or B). */
    public static String factorKey(String path, boolean embedding, boolean a) {
        return PREFIX + path + (embedding ? (a ? EMBEDDING_A : EMBEDDING_B) : (a ? A : B));
    }

    /** The key lora4j writes module {@code path}'s DoRA magnitude vector under, as PEFT does. */
    public static String magnitudeKey(String path) {
        return PREFIX + path + MAGNITUDE;
    }

    /**
     * Groups the tensors of {@code header}.
     *
     * @param file names the file in error messages
     * @throws AdapterException for a key without {@link #PREFIX}, a factor without its partner, a
     *     DoRA magnitude vector that is not a vector, has no factors or is given twice, factor or
     *     magnitude keys that still carry an adapter name, or factors that are not matrices of one rank
     */
    public static AdapterTensors of(SafetensorsHeader header, String file) {
        Map<String, TensorInfo[]> found = new LinkedHashMap<>();
        Map<String, Boolean> embedding = new LinkedHashMap<>();
        Map<String, TensorInfo> magnitudes = new LinkedHashMap<>();
        Map<String, TensorInfo> others = new LinkedHashMap<>();
        header.tensors().forEach(info -> {
            String key = info.name();
            if (!key.startsWith(PREFIX)) {
                throw new AdapterException(file + ": tensor '" + key + "' does not start with PEFT's prefix '"
                        + PREFIX + "'");
            }
            String[] factor = factor(key);
            if (factor == null) {
                if (key.contains(MAGNITUDE)) {
                    magnitude(info, file, magnitudes);
                    return;
                }
                if (key.contains(".lora_A.") || key.contains(".lora_B.") || key.contains(".lora_embedding_")) {
                    throw new AdapterException(file + ": tensor '" + key + "' is not a PEFT adapter key (expected"
                            + " '<module>.lora_A.weight', '<module>.lora_B.weight', '<module>.lora_embedding_A' or"
                            + " '<module>.lora_embedding_B'; in-memory names with the adapter name are not saved names)");
                }
                others.put(key, info);
                return;
            }
            String module = factor[0];
            boolean isEmbedding = factor[1].equals("e");
            Boolean known = embedding.putIfAbsent(module, isEmbedding);
            if (known != null && known != isEmbedding) {
                throw new AdapterException(file + ": tensor '" + key + "' mixes linear (lora_A/lora_B) and embedding"
                        + " (lora_embedding_A/B) keys for module '" + module + "'");
            }
            if (info.rank() != 2 && (info.rank() != 4 || isEmbedding)) {
                throw new AdapterException(file + ": tensor '" + key + "' has shape " + Arrays.toString(info.shape())
                        + " but LoRA factors are matrices" + (isEmbedding ? "" : " or 4-d convolution kernels"));
            }
            found.computeIfAbsent(module, k -> new TensorInfo[2])[factor[2].equals("A") ? 0 : 1] = info;
        });
        Map<String, Pair> pairs = new LinkedHashMap<>();
        found.forEach((module, ab) -> {
            boolean isEmbedding = embedding.get(module);
            if (ab[0] == null || ab[1] == null) {
                String have = factorKey(module, isEmbedding, ab[0] != null);
                String missing = factorKey(module, isEmbedding, ab[0] == null);
                throw new AdapterException(file + ": tensor '" + have + "' has no partner '" + missing + "'");
            }
            if (ab[0].rank() != ab[1].rank()) {
                throw new AdapterException(file + ": tensor '" + ab[0].name() + "' has shape "
                        + Arrays.toString(ab[0].shape()) + " but '" + ab[1].name() + "' has shape "
                        + Arrays.toString(ab[1].shape()) + ": one is a matrix, the other a convolution kernel");
            }
            if (ab[0].rank() == 4) {
                long[] b = ab[1].shape();
                if (b[2] != 1 || b[3] != 1 || b[1] == 0 || ab[0].shape()[0] % b[1] != 0) {
                    throw new AdapterException(file + ": tensor '" + ab[1].name() + "' has shape " + Arrays.toString(b)
                            + " but a convolution's lora_B is a 1x1 kernel [out, r/groups, 1, 1] and '" + ab[0].name()
                            + "' " + Arrays.toString(ab[0].shape()) + " has rank " + ab[0].shape()[0]);
                }
            } else if (ab[0].shape()[0] != ab[1].shape()[1]) {
                throw new AdapterException(file + ": tensor '" + ab[0].name() + "' has shape "
                        + Arrays.toString(ab[0].shape()) + " (rank " + ab[0].shape()[0] + ") but '" + ab[1].name()
                        + "' has shape " + Arrays.toString(ab[1].shape()) + " (rank " + ab[1].shape()[1] + ")");
            }
            pairs.put(module, new Pair(module, isEmbedding, ab[0], ab[1], magnitudes.remove(module)));
        });
        if (!magnitudes.isEmpty()) {
            TensorInfo lone = magnitudes.values().iterator().next();
            String module = magnitudes.keySet().iterator().next();
            throw new AdapterException(file + ": tensor '" + lone.name() + "' is a DoRA magnitude vector for module '"
                    + module + "', which has no factors '" + factorKey(module, false, true) + "' and '"
                    + factorKey(module, false, false) + "'");
        }
        return new AdapterTensors(pairs, others);
    }

    /** Files a DoRA magnitude key under its module, checking the name and that it is a vector. */
    private static void magnitude(TensorInfo info, String file, Map<String, TensorInfo> magnitudes) {
        String key = info.name();
        String rest = key.substring(PREFIX.length());
        String suffix = rest.endsWith(MAGNITUDE) ? MAGNITUDE : rest.endsWith(MAGNITUDE_WEIGHT) ? MAGNITUDE_WEIGHT : null;
        if (suffix == null || rest.length() == suffix.length()) {
            throw new AdapterException(file + ": tensor '" + key + "' is not a PEFT adapter key (expected"
                    + " '<module>.lora_magnitude_vector' for a DoRA magnitude vector; in-memory names with the adapter"
                    + " name are not saved names)");
        }
        long[] shape = info.shape();
        boolean convolution = shape.length == 4 && shape[0] == 1 && shape[2] == 1 && shape[3] == 1;
        if (shape.length != 1 && !convolution) {
            throw new AdapterException(file + ": tensor '" + key + "' has shape " + Arrays.toString(shape)
                    + " but a DoRA magnitude vector has one value per output feature, [out] ([1, out, 1, 1] for a"
                    + " convolution)");
        }
        String module = rest.substring(0, rest.length() - suffix.length());
        TensorInfo earlier = magnitudes.putIfAbsent(module, info);
        if (earlier != null) {
            throw new AdapterException(file + ": tensors '" + earlier.name() + "' and '" + key
                    + "' are both the DoRA magnitude vector of module '" + module + "'");
        }
    }

    /** {module, "l"|"e", "A"|"B"} for a factor key, else null. */
    private static String[] factor(String key) {
        String rest = key.substring(PREFIX.length());
        for (String[] suffix : new String[][] {{A, "l", "A"}, {B, "l", "B"}, {EMBEDDING_A, "e", "A"}, {EMBEDDING_B, "e", "B"}}) {
            if (rest.endsWith(suffix[0]) && rest.length() > suffix[0].length()) {
                return new String[] {rest.substring(0, rest.length() - suffix[0].length()), suffix[1], suffix[2]};
            }
        }
        return null;
    }

    /** The adapted modules' factors, by module path, in file order. */
    public Map<String, Pair> pairs() {
        return pairs;
    }

    /** Whether any module has a DoRA magnitude vector. */
    public boolean hasMagnitudes() {
        return pairs.values().stream().anyMatch(p -> p.magnitude() != null);
    }

    /** Every other tensor ({@code modules_to_save} parameters, biases), by full key. */
    public Map<String, TensorInfo> others() {
        return others;
    }
}
