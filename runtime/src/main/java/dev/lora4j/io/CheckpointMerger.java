package dev.lora4j.io;

import dev.lora4j.io.internal.AdapterLoadPlan;
import dev.lora4j.io.internal.BaseTensorMatcher;
import dev.lora4j.io.internal.CheckpointDecomposition;
import dev.lora4j.io.internal.ChunkPipeline;
import dev.lora4j.io.internal.ComputedTensor;
import dev.lora4j.io.internal.LowRankDelta;
import dev.lora4j.io.internal.MergePlan;
import dev.lora4j.io.internal.PeftConfigMapping;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

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
 *       as PEFT refuses to merge them); for a DoRA adapter ({@code use_dora}) {@code
 *       W' = (m / ‖W + s·B·A‖) ⊙ (W + s·B·A)} with the norm per output feature, as PEFT's {@code
 *       merge_and_unload()} computes it (the weight is then read twice: once for the norms); for a
 *       PiSSA/OLoRA adapter ({@code init_lora_weights "pissa"} or {@code "olora"}), whose factors
 *       apply to the residual {@code W − s·B₀·A₀}, {@code W + s·(B·A − B₀·A₀)} with {@code B₀·A₀}
 *       recomputed from {@code W} as PEFT's {@code load_adapter} does ({@link
 *       dev.lora4j.io.internal.CheckpointDecomposition}; {@code "pissa_niter_N"}, whose randomized
 *       SVD cannot be recomputed, is refused: merge its conversion, {@link
 *       AdapterSaveOptions#convertToPlainLora()}). The sum is computed in
 *       float32 (float64 for an F64 weight) and written back in the weight's dtype, F16 and BF16
 *       rounded to nearest even;
 *   <li>each other adapter tensor ({@code modules_to_save} parameters, biases) replacing the base
 *       tensor of that name, converted to its dtype;
 *   <li>every other tensor copied byte for byte, and the {@code __metadata__} kept;
 *   <li>after the base's tensors, each {@code modules_to_save} tensor the base lacks, in the
 *       adapter's dtype: a new classification head, as PEFT's {@code merge_and_unload()} and
 *       {@code save_pretrained()} would write it. It is named by its module path, with the wrapper
 *       prefix removed that the adapted modules lost on their way to the base's names ({@code
 *       distilbert.} when the base names {@code transformer.layer.0...}); a head outside the
 *       wrapper keeps its name ({@code classifier.weight}, {@code score.weight}), as Hugging Face
 *       stores heads at the top level. A bias or adapted module the base lacks stays an error.
 * </ul>
 *
 * <p>Adapter module paths are matched to base tensor names exactly or, failing that, with and
 * without the wrapper prefixes Hugging Face models add ({@link BaseTensorMatcher}); a module that
 * matches no base tensor or several is an {@link AdapterException} listing the candidates, raised
 * before anything is written. The merge streams and never loads ND4J: tensors it does not change
 * go file to file ({@link java.nio.channels.FileChannel#transferTo}), the others are computed in
 * plain Java a megabyte at a time from the memory-mapped base, on a second thread while the first
 * writes, so a checkpoint larger than the heap merges; the output is written atomically, so a
 * failure leaves {@code out} as it was.
 * Non-finite weights are never written: a merged or replaced tensor holding NaN or infinity aborts
 * the merge.
 */
public final class CheckpointMerger {

    /**
     * What a merge did.
     *
     * @param merged adapted module path → the base weight tensor it was merged into
     * @param replaced adapter tensor name → the base tensor it replaced
     * @param added output tensor name → the adapter's {@code modules_to_save} tensor, absent from the
     *     base, written under it (with its dtype and shape)
     * @param copied the number of base tensors copied unchanged
     */
    public record Result(Map<String, String> merged, Map<String, String> replaced, Map<String, TensorInfo> added,
            int copied) {}

    /** Chunks the computing thread may run ahead of the writing one. */
    private static final int PIPELINE_BUFFERS = 8;

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
            MergePlan plan = MergePlan.of(config, adapter, checkpoint);
            SafetensorsHeader.Builder header = SafetensorsHeader.builder().metadata(checkpoint.metadata());
            for (TensorInfo t : checkpoint.tensors()) {
                header.tensor(t.name(), t.dtype(), t.shape());
            }
            plan.added().forEach((name, t) -> header.tensor(name, t.dtype(), t.shape()));
            String label = adapter.path().toString();
            List<ChunkPipeline.Job> jobs = new ArrayList<>();
            for (TensorInfo t : checkpoint.tensors()) {
                if (plan.update(t.name()) != null || plan.replacement(t.name()) != null) {
                    jobs.add(sink -> computed(plan, t, checkpoint, adapter).writeTo(sink, label));
                }
            }
            plan.added().forEach((name, t) -> jobs.add(sink -> new ComputedTensor(
                    new TensorInfo(name, t.dtype(), t.shape(), 0, t.end() - t.begin()), adapter.rawBytes(t.name()), t.dtype(),
                    null, "tensor '" + t.name() + "' (added as '" + name + "')").writeTo(sink, label)));
            int copied = 0;
            try (SafetensorsWriter writer = SafetensorsWriter.open(out, header.build());
                    ChunkPipeline pipeline = new ChunkPipeline(jobs, PIPELINE_BUFFERS, "lora4j-merge")) {
                for (TensorInfo t : checkpoint.tensors()) {
                    if (plan.update(t.name()) != null || plan.replacement(t.name()) != null) {
                        pipeline.drainNext(writer.stream(t.name()));
                    } else {
                        writer.copy(checkpoint, t.name());
                        copied++;
                    }
                }
                for (String name : plan.added().keySet()) {
                    pipeline.drainNext(writer.stream(name));
                }
                writer.commit();
            }
            return new Result(plan.merged(), plan.replaced(), plan.added(), copied);
        }
    }

    /**
     * How base tensor {@code t} is produced: {@code W + s·B·A} (or {@code + s·(B·A)ᵀ}; for a
     * convolution B·A on the factors flattened to {@code [out, r]} and {@code [r, in·kh·kw]}; for a
     * DoRA adapter rescaled by {@code m / ‖W + s·B·A‖} per output feature), the
     * replacing adapter tensor converted to {@code t}'s dtype, or {@code null} for a copy.
     */
    private static @Nullable ComputedTensor computed(MergePlan plan, TensorInfo t, SafetensorsFile checkpoint,
            SafetensorsFile adapter) {
        MergePlan.Update update = plan.update(t.name());
        if (update != null) {
            TensorInfo a = update.pair().a();
            TensorInfo b = update.pair().b();
            ByteBuffer aBytes = adapter.rawBytes(a.name());
            ByteBuffer bBytes = adapter.rawBytes(b.name());
            if (update.decomposition() != null) {
                CheckpointDecomposition.Factors f = CheckpointDecomposition.of(update, t, checkpoint.rawBytes(t.name()),
                        a, aBytes, b, bBytes);
                a = f.a();
                aBytes = f.aBytes();
                b = f.b();
                bBytes = f.bBytes();
            }
            LowRankDelta delta = LowRankDelta.of(a, aBytes, b, bBytes,
                    update.transposed(), update.scaling(), ComputedTensor.inDouble(t.dtype()));
            TensorInfo m = update.pair().magnitude();
            if (update.dora() && m != null) {
                delta = delta.withDora(checkpoint.rawBytes(t.name()), t.dtype(), adapter.rawBytes(m.name()), m.dtype());
            }
            return new ComputedTensor(t, checkpoint.rawBytes(t.name()), t.dtype(), delta, "merging adapter module '"
                    + update.pair().module() + "' into base tensor '" + t.name() + "'");
        }
        String replacement = plan.replacement(t.name());
        if (replacement != null) {
            return new ComputedTensor(t, adapter.rawBytes(replacement), adapter.info(replacement).dtype(), null,
                    "tensor '" + replacement + "' (replacing base tensor '" + t.name() + "')");
        }
        return null;
    }
}
