package dev.lora4j.io.internal;

import dev.lora4j.nn.AdaptableLayer;
import dev.lora4j.api.BiasMode;
import dev.lora4j.lora.LoraAdapter;
import dev.lora4j.lora.LoraEmbedding;
import dev.lora4j.lora.LoraLayer;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The tensors PEFT saves for one adapter, named as PEFT 0.20's {@code get_peft_model_state_dict}
 * names them (see {@link AdapterTensors}): the factors, and a DoRA adapter's magnitude vectors as
 * {@code <path>.lora_magnitude_vector}; each {@code modules_to_save} parameter as
 * {@code base_model.model.<path>.<name>} (the adapter's own copy); and with {@code bias} other than
 * none the biases, under the name the bias has in a PEFT model: {@code <path>.base_layer.bias} for
 * a layer carrying adapters (PEFT wraps it), {@code <path>.bias} otherwise. {@code all} saves every
 * bias outside the modules to save; {@code lora_only} the biases of this adapter's layers (PEFT
 * 0.20 looks those up as {@code <path>.bias}, misses the wrapped name and saves none; lora4j saves
 * them so they are not lost, and PEFT's loader accepts the name).
 */
public final class AdapterStateDict {

    private AdapterStateDict() {}

    /** The tensors of {@code adapter}, by key; the arrays are the live values (not copies). */
    public static Map<String, INDArray> of(LoraModel<?> model, String adapter) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        Map<String, LoraLayer> layers = model.layers(adapter);
        layers.forEach((path, layer) -> {
            LoraAdapter a = layer.adapter(adapter);
            boolean embedding = layer instanceof LoraEmbedding;
            out.put(AdapterTensors.factorKey(path, embedding, true), a.a().value());
            out.put(AdapterTensors.factorKey(path, embedding, false), a.b().value());
            if (a.isDora()) {
                out.put(AdapterTensors.magnitudeKey(path), a.magnitude().value());
            }
        });
        List<String> saved = model.modulesToSave(adapter);
        for (String path : saved) {
            model.moduleToSaveValues(adapter, path).forEach((name, value) ->
                    out.put(AdapterTensors.PREFIX + path + "." + name, value));
        }
        BiasMode mode = model.config(adapter).bias();
        if (mode == BiasMode.NONE) {
            return out;
        }
        model.model().namedModules().forEach((path, module) -> {
            if (insideAny(path, saved) || (mode == BiasMode.LORA_ONLY && !layers.containsKey(path))) {
                return;
            }
            Parameter bias = module.directParameters().get("bias");
            if (bias != null) {
                String name = carriesAdapters(module) ? "base_layer.bias" : "bias";
                out.put(AdapterTensors.PREFIX + Module.join(path, name), bias.value());
            }
        });
        return out;
    }

    private static boolean insideAny(String path, List<String> modules) {
        for (String m : modules) {
            if (path.equals(m) || path.startsWith(m + ".")) {
                return true;
            }
        }
        return false;
    }

    private static boolean carriesAdapters(Module module) {
        LoraLayer layer = module instanceof AdaptableLayer<?> adaptable ? LoraLayers.of(adaptable) : null;
        return layer != null && !layer.adapters().isEmpty();
    }
}
