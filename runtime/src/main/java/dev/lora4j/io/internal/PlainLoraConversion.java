package dev.lora4j.io.internal;

import dev.lora4j.api.LoraInit;
import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.LoraAdapter;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraEmbedding;
import dev.lora4j.lora.LoraLayer;
import dev.lora4j.lora.LoraModel;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * PEFT's conversion of a PiSSA or OLoRA adapter to a plain LoRA adapter for the original base
 * ({@code save_pretrained(..., path_initial_model_for_weight_conversion=...)}, {@code
 * LoraModel.subtract_mutated_init}): with {@code W = W_res + s·B₀·A₀} at the start and {@code
 * W_res + s·B·A} after training, the update on the original weight is {@code s·(B·A − B₀·A₀) =
 * s·B'·A'} with {@code A' = [A; A₀]} (rows stacked) and {@code B' = [B, −B₀]} (columns side by
 * side), a rank-{@code 2r} adapter with the same scaling: {@code r} and {@code lora_alpha} doubled,
 * or {@code lora_alpha} times √2 with rsLoRA ({@code α/√r = √2·α/√(2r)}).
 */
public final class PlainLoraConversion {

    private PlainLoraConversion() {}

    /** The converted spec of one layer: rank {@code 2r}, the same scaling, init {@code true}. */
    public static AdapterSettings spec(AdapterSettings spec) {
        return new AdapterSettings(2 * spec.rank(), convertedAlpha(spec.alpha(), spec.rslora()), spec.dropout(),
                spec.rslora(), LoraInit.KAIMING_UNIFORM, spec.dora());
    }

    /** The converted configuration: rank, alpha and the patterns' values as {@link #spec}, init {@code true}. */
    public static LoraConfig config(LoraConfig config) {
        LoraConfig.Builder b = config.toBuilder()
                .rank(2 * config.rank())
                .alpha(convertedAlpha(config.alpha(), config.rslora()))
                .pissaNiter(-1)
                .init(LoraInit.KAIMING_UNIFORM);
        // same keys, same order: putting a key again replaces its value in place
        config.rankPattern().forEach((key, r) -> b.rankPattern(key, 2 * r));
        config.alphaPattern().forEach((key, a) -> b.alphaPattern(key, convertedAlpha(a, config.rslora())));
        return b.build();
    }

    private static double convertedAlpha(double alpha, boolean rslora) {
        return rslora ? alpha * Math.sqrt(2) : 2 * alpha;
    }

    /**
     * {@code tensors} (the adapter's state dict) with each layer's {@code lora_A}/{@code lora_B}
     * replaced by {@code [A; A₀]} and {@code [B, −B₀]}; other tensors (a DoRA magnitude, modules to
     * save, biases) unchanged: the converted adapter gives the original weight the same update.
     *
     * @throws IllegalArgumentException naming the layer when an adapter's init left the base
     *     weight unchanged (there is nothing to convert)
     */
    public static Map<String, INDArray> tensors(LoraModel<?> model, String adapter, Map<String, INDArray> tensors) {
        Map<String, INDArray> out = new LinkedHashMap<>(tensors);
        model.layers(adapter).forEach((path, layer) -> {
            LoraAdapter a = layer.adapter(adapter);
            INDArray[] initial = initialFactors(adapter, path, layer, a);
            boolean embedding = layer instanceof LoraEmbedding;
            out.put(AdapterTensors.factorKey(path, embedding, true), Nd4j.concat(0, a.a().value(), initial[0]));
            out.put(AdapterTensors.factorKey(path, embedding, false), Nd4j.concat(1, a.b().value(), initial[1].neg()));
        });
        return out;
    }

    private static INDArray[] initialFactors(String adapter, String path, LoraLayer layer, LoraAdapter a) {
        INDArray[] initial = a.initialFactors();
        if (initial == null) {
            throw new IllegalArgumentException("adapter '" + adapter + "' on " + path + " was initialised with init "
                    + a.spec().init() + " (init_lora_weights " + a.spec().peftInit() + "), which leaves the base"
                    + " weight unchanged: its factors already apply to the original base; save it without"
                    + " convertToPlainLora");
        }
        return initial;
    }
}
