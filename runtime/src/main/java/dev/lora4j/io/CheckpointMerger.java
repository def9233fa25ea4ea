package dev.lora4j.io;

import dev.lora4j.io.internal.AdapterLoadPlan;
import dev.lora4j.io.internal.AdapterTensors;
import dev.lora4j.io.internal.BaseTensorMatcher;
import dev.lora4j.io.internal.FiniteCheck;
import dev.lora4j.io.internal.PeftConfigMapping;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Merges a PEFT LoRA adapter directory into a base safetensors checkpoint, without a model: the
 * output holds every base tensor, in the base's order, dtype and shape, with
 *
 * <ul>
 *   <li>each adapted weight replaced by {@code W + s·B·A} ({@code s = alpha/r}, or {@code
 *       alpha/√r} with rsLoRA, per module from {@code rank_pattern}/{@code alpha_pattern}); {@code
 *       W + s·(B·A)ᵀ} when {@code fan_in_fan_out} is set and for embeddings; for a convolution
 *       (4-d factors) {@code B·A} of the flattened factors reshaped to the kernel {@code [out, in,
 *       kh, kw]}, as PEFT's {@code get_delta_weight} (adapters on grouped convolutions are refused,
 *       as PEFT refuses to merge them). The sum is computed in
 *       float32 (float64 for an F64 weight) and written back in the weight's dtype, F16 and BF16
 *       rounded to nearest even;
 *   <li>each other adapter tensor ({@code modules_to_save} parameters, biases) replacing the base
 *       tensor of that name, converted to its dtype;
 *   <li>every other tensor copied byte for byte, and the {@code __metadata__} kept.
 * </ul>
 *
 * <p>Adapter module paths are matched to base tensor names exactly or, failing that, with and
 * without the wrapper prefixes Hugging Face models add ({@link BaseTensorMatcher}); a module that
 * matches no base tensor or several is an {@link AdapterException} listing the candidates, raised
 * before anything is written. The merge streams: one base tensor (and one adapter pair) is in
 * memory at a time, base tensors are memory-mapped, and the output is written atomically, so a
 * checkpoint larger than the heap merges and a failure leaves {@code out} as it was. Non-finite
 * weights are never written: a merged or replaced tensor holding NaN or infinity aborts the merge.
 */
public final class CheckpointMerger {

    /**
     * What a merge did.
     *
     * @param merged adapted module path → the base weight tensor it was merged into
     * @param replaced adapter tensor name → the base tensor it replaced
     * @param copied the number of base tensors copied unchanged
     */
    public record Result(Map<String, String> merged, Map<String, String> replaced, int copied) {}

    private record Merge(AdapterTensors.Pair pair, double scaling, boolean transposed) {}

    private CheckpointMerger() {}

    /**
     * Merges the adapter in {@code adapterDir} into {@code base}, writing {@code out}.
     *
     * @throws AdapterException when the adapter does not fit the base (unmatched or ambiguous module,
     *     shape or rank mismatch, non-float weight), naming the tensor, or when a merged or replaced
     *     weight would hold NaN or infinity (or overflow an F16/BF16 weight); {@code out} is then left
     *     as it was
     * @throws PeftConfigException for an invalid {@code adapter_config.json}
     * @throws SafetensorsException for a malformed safetensors file
     * @throws IOException if reading or writing fails
     */
    public static Result merge(Path base, Path adapterDir, Path out) throws IOException {
        PeftAdapterConfig config = PeftAdapterConfig.read(adapterDir.resolve(PeftAdapterConfig.FILE_NAME));
        PeftConfigMapping.unsupported(config);
        try (SafetensorsFile adapter = SafetensorsFile.open(adapterDir.resolve(AdapterLoadPlan.WEIGHTS_FILE));
                SafetensorsFile checkpoint = SafetensorsFile.open(base)) {
            String label = adapter.path().toString();
            AdapterTensors tensors = AdapterTensors.of(adapter.header(), label);
            BaseTensorMatcher matcher = new BaseTensorMatcher(
                    checkpoint.tensors().stream().map(TensorInfo::name).toList());
            Map<String, Merge> merges = new HashMap<>();
            Map<String, String> replacements = new HashMap<>();
            Map<String, String> merged = new LinkedHashMap<>();
            Map<String, String> replaced = new LinkedHashMap<>();
            Map<String, String> claimedBy = new HashMap<>();
            for (AdapterTensors.Pair pair : tensors.pairs().values()) {
                String module = pair.module();
                String target = matcher.match(module + ".weight", label + ": adapter module '" + module + "'");
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
                merges.put(target, new Merge(pair, config.scalingFor(module), transposed));
                merged.put(module, target);
            }
            for (TensorInfo other : tensors.others().values()) {
                String wanted = other.name().substring(AdapterTensors.PREFIX.length()).replace(".base_layer.", ".");
                String target = matcher.match(wanted, label + ": tensor '" + other.name() + "'");
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
            SafetensorsHeader.Builder plan = SafetensorsHeader.builder().metadata(checkpoint.metadata());
            for (TensorInfo t : checkpoint.tensors()) {
                plan.tensor(t.name(), t.dtype(), t.shape());
            }
            int copied = 0;
            try (SafetensorsWriter writer = SafetensorsWriter.open(out, plan.build())) {
                for (TensorInfo t : checkpoint.tensors()) {
                    Merge merge = merges.get(t.name());
                    String replacement = replacements.get(t.name());
                    if (merge != null) {
                        INDArray w = mergedWeight(checkpoint.read(t.name()), adapter, merge);
                        refuseNonFinite(w, t, "merging adapter module '" + merge.pair.module() + "' into base tensor '"
                                + t.name() + "'", label);
                        writer.write(t.name(), w);
                    } else if (replacement != null) {
                        INDArray values = adapter.read(replacement);
                        refuseNonFinite(values, t, "tensor '" + replacement + "' (replacing base tensor '" + t.name()
                                + "')", label);
                        writer.write(t.name(), values);
                    } else {
                        writer.write(t.name(), checkpoint.rawBytes(t.name()));
                        copied++;
                    }
                }
                writer.commit();
            }
            return new Result(Collections.unmodifiableMap(merged), Collections.unmodifiableMap(replaced), copied);
        }
    }

    /**
     * {@code w + s·B·A} (or {@code + s·(B·A)ᵀ}; for a convolution B·A on the factors flattened to
     * {@code [out, r]} and {@code [r, in·kh·kw]}, reshaped to the kernel), in {@code w}'s type
     * (float32 for half types).
     */
    private static INDArray mergedWeight(INDArray w, SafetensorsFile adapter, Merge merge) {
        INDArray a = adapter.read(merge.pair.a().name()).castTo(w.dataType());
        INDArray b = adapter.read(merge.pair.b().name()).castTo(w.dataType());
        if (merge.pair.convolution()) {
            long r = a.size(0);
            INDArray delta = Nd4j.gemm(b.reshape('c', b.size(0), r), a.reshape('c', r, a.length() / r), false, false);
            return w.addi(delta.reshape('c', w.shape()).muli(merge.scaling));
        }
        INDArray delta = merge.transposed ? Nd4j.gemm(a, b, true, true) : Nd4j.gemm(b, a, false, false);
        return w.addi(delta.muli(merge.scaling));
    }

    private static void refuseNonFinite(INDArray values, TensorInfo target, String what, String label) {
        String problem = FiniteCheck.problem(values, target.dtype());
        if (problem != null) {
            throw new AdapterException(label + ": " + what + " gives " + problem + "; refusing to write non-finite"
                    + " weights, the output was not written");
        }
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
