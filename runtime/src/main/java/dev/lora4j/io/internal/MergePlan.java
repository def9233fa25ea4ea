package dev.lora4j.io.internal;

import dev.lora4j.api.LoraInit;
import dev.lora4j.io.AdapterException;
import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.TensorInfo;
import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.internal.ModuleNames;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * What merging an adapter into a base checkpoint does to each base tensor, decided and validated
 * before anything is written: which weights get a LoRA update (with its scaling and orientation,
 * and for a DoRA adapter its magnitude vector),
 * which tensors an adapter tensor replaces, which {@code modules_to_save} tensors the base lacks
 * and are added, and (by omission) which are copied. Every mismatch is
 * an {@link AdapterException} naming the tensor: an adapter module that matches no base tensor or
 * several ({@link BaseTensorMatcher}), two adapter tensors for one base tensor, a rank that
 * disagrees with {@code adapter_config.json}, shapes that do not fit, a grouped convolution, a
 * DoRA adapter without its magnitude vector, or a non-float tensor.
 */
public final class MergePlan {

    /**
     * A LoRA update of one base weight.
     *
     * @param pair the adapter's factors
     * @param scaling {@code alpha/r} or {@code alpha/√r} for the module
     * @param transposed whether the weight is stored {@code [in, out]}: {@code W + s·(B·A)ᵀ}
     * @param dora whether the update is DoRA's: {@code (m / ‖W + s·ΔW‖) ⊙ (W + s·ΔW)} with {@code m}
     *     the pair's magnitude vector
     * @param decomposition for a PiSSA/OLoRA adapter on a linear layer, the spec its init ran with
     *     (the factors apply to the residual {@code W − s·B₀·A₀}, recomputed from the base weight);
     *     {@code null} otherwise
     */
    public record Update(AdapterTensors.Pair pair, double scaling, boolean transposed, boolean dora,
            @Nullable AdapterSettings decomposition) {}

    private final Map<String, Update> updates;
    private final Map<String, String> replacements;
    private final Map<String, String> merged;
    private final Map<String, String> replaced;
    private final Map<String, TensorInfo> added;

    private MergePlan(Map<String, Update> updates, Map<String, String> replacements, Map<String, String> merged,
            Map<String, String> replaced, Map<String, TensorInfo> added) {
        this.updates = updates;
        this.replacements = replacements;
        this.merged = Collections.unmodifiableMap(merged);
        this.replaced = Collections.unmodifiableMap(replaced);
        this.added = Collections.unmodifiableMap(added);
    }

    /**
     * Plans the merge of {@code adapter} (configured by {@code config}) into {@code checkpoint}.
     *
     * @throws AdapterException when the adapter does not fit the checkpoint
     */
    public static MergePlan of(PeftAdapterConfig config, SafetensorsFile adapter, SafetensorsFile checkpoint) {
        String label = adapter.path().toString();
        AdapterTensors tensors = AdapterTensors.of(adapter.header(), label);
        BaseTensorMatcher matcher = new BaseTensorMatcher(checkpoint.tensors().stream().map(TensorInfo::name).toList());
        Map<String, Update> updates = new HashMap<>();
        Map<String, String> replacements = new HashMap<>();
        Map<String, String> merged = new LinkedHashMap<>();
        Map<String, String> replaced = new LinkedHashMap<>();
        Map<String, TensorInfo> added = new LinkedHashMap<>();
        Map<String, String> claimedBy = new HashMap<>();
        PrefixConvention convention = new PrefixConvention();
        for (AdapterTensors.Pair pair : tensors.pairs().values()) {
            String module = pair.module();
            String target = matcher.match(module + ".weight", label + ": adapter module '" + module + "'");
            convention.learn(module + ".weight", target);
            claim(claimedBy, target, pair.a().name(), label);
            TensorInfo w = checkpoint.info(target);
            int r = config.rankFor(module);
            if (pair.rank() != r) {
                throw new AdapterException(label + ": tensor '" + pair.a().name() + "' has shape "
                        + Arrays.toString(pair.a().shape()) + " (rank " + pair.rank() + ") but "
                        + PeftAdapterConfig.FILE_NAME + " gives " + module + " r=" + r);
            }
            boolean transposed = !pair.convolution() && (pair.embedding() || config.fanInFanOut());
            long out0 = pair.b().shape()[0];
            long in = pair.a().shape()[1];
            if (pair.convolution() && pair.b().shape()[1] != pair.rank()) {
                throw new AdapterException(label + ": tensor '" + pair.b().name() + "' has shape "
                        + Arrays.toString(pair.b().shape()) + ": an adapter on a grouped convolution (groups "
                        + pair.rank() / pair.b().shape()[1] + ") cannot be merged, its update is not a grouped kernel");
            }
            long[] a = pair.a().shape();
            long[] expected = pair.convolution() ? new long[] {out0, in, a[2], a[3]}
                    : transposed ? new long[] {in, out0} : new long[] {out0, in};
            if (!Arrays.equals(w.shape(), expected)) {
                throw new AdapterException(label + ": tensors '" + pair.a().name() + "' " + Arrays.toString(pair.a().shape())
                        + " and '" + pair.b().name() + "' " + Arrays.toString(pair.b().shape()) + " make a "
                        + Arrays.toString(expected) + " update but base tensor '" + target + "' has shape "
                        + Arrays.toString(w.shape()));
            }
            requireFloat(w, checkpoint.path().toString());
            requireFloat(pair.a(), label);
            requireFloat(pair.b(), label);
            checkDora(config, pair, out0, label);
            updates.put(target, new Update(pair, config.scalingFor(module), transposed, config.useDora(),
                    decomposition(config, pair, module, label)));
            merged.put(module, target);
        }
        for (TensorInfo other : tensors.others().values()) {
            String wanted = other.name().substring(AdapterTensors.PREFIX.length()).replace(".base_layer.", ".");
            String source = label + ": tensor '" + other.name() + "'";
            Optional<String> found = matcher.find(wanted, source);
            if (found.isEmpty() && savedModule(config, wanted)) {
                String name = convention.apply(wanted, source);
                if (checkpoint.contains(name)) {
                    throw new AdapterException(source + " matches no base tensor, and its name in the merged checkpoint, '"
                            + name + "', is taken by a base tensor");
                }
                claim(claimedBy, name, other.name(), label);
                requireFloat(other, label);
                added.put(name, other);
                continue;
            }
            String target = found.orElseGet(() -> matcher.match(wanted, source));
            claim(claimedBy, target, other.name(), label);
            TensorInfo w = checkpoint.info(target);
            if (!Arrays.equals(w.shape(), other.shape())) {
                throw new AdapterException(label + ": tensor '" + other.name() + "' has shape "
                        + Arrays.toString(other.shape()) + " but base tensor '" + target + "' has shape "
                        + Arrays.toString(w.shape()));
            }
            requireFloat(w, checkpoint.path().toString());
            requireFloat(other, label);
            replacements.put(target, other.name());
            replaced.put(other.name(), target);
        }
        return new MergePlan(updates, replacements, merged, replaced, added);
    }

    /**
     * With {@code use_dora}: the module has a float magnitude vector, {@code [out]} or for a
     * convolution {@code [1, out, 1, 1]}, as PEFT saves it. Without it: no magnitude vector.
     */
    /**
     * The spec a PiSSA/OLoRA init ran with on {@code module}, or {@code null} when the adapter's init
     * left the base weight unchanged there (another init, or an embedding, where PEFT uses its
     * default init).
     *
     * @throws AdapterException for {@code "pissa_niter_N"} (its randomized SVD cannot be recomputed
     *     as the training run had it) and for a convolution (PEFT has no PiSSA/OLoRA there)
     */
    private static @Nullable AdapterSettings decomposition(PeftAdapterConfig config, AdapterTensors.Pair pair, String module,
            String label) {
        LoraInit init = config.loraInit().orElse(LoraInit.KAIMING_UNIFORM);
        if (!init.changesBaseWeight() || pair.embedding()) {
            return null;
        }
        String field = label + ": " + PeftAdapterConfig.FILE_NAME + " init_lora_weights "
                + PeftJson.write(config.get("init_lora_weights"));
        if (config.pissaNiter() >= 0) {
            throw new AdapterException(field + ": the adapter applies to the residual of a randomized SVD, which"
                    + " cannot be recomputed as the training run had it; save it with"
                    + " AdapterSaveOptions.withConvertToPlainLora(true) (PEFT's path_initial_model_for_weight_conversion)"
                    + " and merge that");
        }
        if (pair.convolution()) {
            throw new AdapterException(field + ": module '" + module + "' is a convolution, which PEFT's PiSSA/OLoRA"
                    + " do not support");
        }
        if (init == LoraInit.OLORA && config.fanInFanOut()) {
            throw new AdapterException(field + ": OLoRA on fan_in_fan_out weights is not supported (PEFT's olora_init"
                    + " does not transpose them)");
        }
        return new AdapterSettings(config.rankFor(module), config.alphaFor(module), 0, config.useRslora(), init);
    }

    private static void checkDora(PeftAdapterConfig config, AdapterTensors.Pair pair, long out, String label) {
        TensorInfo m = pair.magnitude();
        if (!config.useDora()) {
            if (m != null) {
                throw new AdapterException(label + ": tensor '" + m.name() + "' is a DoRA magnitude vector, but "
                        + PeftAdapterConfig.FILE_NAME + " does not set use_dora");
            }
            return;
        }
        if (m == null) {
            throw new AdapterException(label + ": tensor '" + AdapterTensors.magnitudeKey(pair.module()) + "' is missing: "
                    + PeftAdapterConfig.FILE_NAME + " sets use_dora");
        }
        long[] expected = pair.convolution() ? new long[] {1, out, 1, 1} : new long[] {out};
        if (!Arrays.equals(m.shape(), expected)) {
            throw new AdapterException(label + ": tensor '" + m.name() + "' has shape " + Arrays.toString(m.shape())
                    + " but '" + pair.b().name() + "' " + Arrays.toString(pair.b().shape()) + " has " + out
                    + " output features: its DoRA magnitude vector is " + Arrays.toString(expected));
        }
        requireFloat(m, label);
    }

    /** Whether the parameter {@code name} ({@code <module path>.<parameter>}) belongs to a module in {@code modules_to_save}. */
    private static boolean savedModule(PeftAdapterConfig config, String name) {
        int dot = name.lastIndexOf('.');
        return dot > 0 && ModuleNames.isInModulesToSave(name.substring(0, dot), config.modulesToSave());
    }

    /** The update of base tensor {@code name}, or {@code null}. */
    public Update update(String name) {
        return updates.get(name);
    }

    /** The adapter tensor that replaces base tensor {@code name}, or {@code null}. */
    public String replacement(String name) {
        return replacements.get(name);
    }

    /** Adapted module path → the base weight it is merged into, in the adapter's order. */
    public Map<String, String> merged() {
        return merged;
    }

    /** Adapter tensor name → the base tensor it replaces, in the adapter's order. */
    public Map<String, String> replaced() {
        return replaced;
    }

    /**
     * The {@code modules_to_save} tensors the base lacks (a new classification head), by the name
     * the merged checkpoint stores them under ({@link PrefixConvention}), in the adapter's order.
     */
    public Map<String, TensorInfo> added() {
        return added;
    }

    private static void claim(Map<String, String> claimedBy, String target, String by, String label) {
        String earlier = claimedBy.putIfAbsent(target, by);
        if (earlier != null) {
            throw new AdapterException(label + ": tensors '" + earlier + "' and '" + by + "' both map to base tensor '"
                    + target + "'");
        }
    }

    private static void requireFloat(TensorInfo info, String file) {
        if (!info.dtype().isFloatingPoint()) {
            throw new AdapterException(file + ": tensor '" + info.name() + "' has dtype " + info.dtype().safetensorsName()
                    + "; merging needs F16, BF16, F32 or F64");
        }
    }
}
