package dev.lora4j.samples.minilm;

import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.io.TargetModules;
import dev.lora4j.lora.AdapterSpec;
import dev.lora4j.lora.LoraAdapter;
import dev.lora4j.lora.LoraLayer;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Saves and loads one adapter in Hugging Face PEFT's directory layout: {@code adapter_config.json}
 * and {@code adapter_model.safetensors} with keys {@code base_model.model.<module path>.lora_A.weight}
 * / {@code .lora_B.weight}, plus the fully trained modules ({@code modules_to_save}) as
 * {@code base_model.model.<module path>.<parameter>}, as PEFT's {@code save_pretrained} writes them.
 *
 * <p><b>A stand-in</b>, kept in this one class on purpose: lora4j's own adapter files (save, load,
 * named adapters in sub-folders) are being written in the runtime, and when they land the sample's
 * calls to {@link #save} and {@link #load} switch to them. It handles what the MiniLM job needs: one
 * adapter, one rank and alpha for every layer, float32 tensors.
 */
public final class PeftAdapterFiles {

    /** The weights file PEFT writes beside {@code adapter_config.json}. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    private static final String PREFIX = "base_model.model.";

    private PeftAdapterFiles() {}

    /**
     * Writes the adapter {@code adapter} of {@code lora} and the given fully trained modules into
     * {@code directory} (created if needed).
     *
     * @param modulesToSave module paths whose parameters are saved whole (e.g. {@code classifier})
     * @param baseModel written as {@code base_model_name_or_path}, may be {@code null}
     * @return the tensors written, by key
     */
    public static Map<String, INDArray> save(LoraModel<?> lora, String adapter, List<String> modulesToSave,
            String baseModel, Path directory) throws IOException {
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        Set<String> targets = new LinkedHashSet<>();
        AdapterSpec spec = null;
        for (Map.Entry<String, LoraLayer> entry : lora.layers().entrySet()) {
            LoraLayer layer = entry.getValue();
            LoraAdapter a = layer.adapter(adapter);
            if (a == null) {
                continue;
            }
            if (spec == null) {
                spec = a.spec();
            } else if (spec.rank() != a.spec().rank() || spec.alpha() != a.spec().alpha()
                    || spec.rslora() != a.spec().rslora()) {
                throw new IllegalArgumentException("adapter '" + adapter + "' has different ranks or alphas per layer ("
                        + entry.getKey() + "); this writer handles one rank and alpha");
            }
            String path = entry.getKey();
            tensors.put(PREFIX + path + "." + layer.aName() + ".weight", a.a().value());
            tensors.put(PREFIX + path + "." + layer.bName() + ".weight", a.b().value());
            targets.add(path.substring(path.lastIndexOf('.') + 1));
        }
        if (spec == null) {
            throw new IllegalArgumentException("no layer carries an adapter named '" + adapter + "'");
        }
        Map<String, Module> modules = lora.model().namedModules();
        for (String path : modulesToSave) {
            Module module = modules.get(path);
            if (module == null) {
                throw new IllegalArgumentException("no module '" + path + "' to save; modules: " + modules.keySet());
            }
            module.namedParameters().forEach((name, p) -> tensors.put(PREFIX + path + "." + name, p.value()));
        }
        PeftAdapterConfig config = PeftAdapterConfig.lora(spec.rank(), spec.alpha(), TargetModules.names(new ArrayList<>(targets)))
                .withLoraDropout(spec.dropout())
                .withUseRslora(spec.rslora())
                .withModulesToSave(modulesToSave.isEmpty() ? null : modulesToSave)
                .withBaseModelNameOrPath(baseModel);
        Files.createDirectories(directory);
        SafetensorsWriter.write(directory.resolve(WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        config.write(directory.resolve(PeftAdapterConfig.FILE_NAME));
        return tensors;
    }

    /**
     * Reads the tensors of an adapter directory written by {@link #save} into {@code lora}'s adapter
     * {@code adapter} and its modules to save: every adapted layer and every saved module must find
     * its tensors with the same shapes, and every tensor in the file must find its place.
     *
     * @return the number of tensors read
     */
    public static int load(LoraModel<?> lora, String adapter, Path directory) throws IOException {
        Map<String, Parameter> places = new LinkedHashMap<>();
        lora.layers().forEach((path, layer) -> {
            LoraAdapter a = layer.adapter(adapter);
            if (a != null) {
                places.put(PREFIX + path + "." + layer.aName() + ".weight", a.a());
                places.put(PREFIX + path + "." + layer.bName() + ".weight", a.b());
            }
        });
        PeftAdapterConfig config = PeftAdapterConfig.read(directory.resolve(PeftAdapterConfig.FILE_NAME));
        Map<String, Module> modules = lora.model().namedModules();
        for (String path : config.modulesToSave()) {
            Module module = modules.get(path);
            if (module == null) {
                throw new IllegalArgumentException(directory + ": no module '" + path + "' for modules_to_save");
            }
            module.namedParameters().forEach((name, p) -> places.put(PREFIX + path + "." + name, p));
        }
        try (SafetensorsFile file = SafetensorsFile.open(directory.resolve(WEIGHTS_FILE))) {
            for (Map.Entry<String, Parameter> place : places.entrySet()) {
                if (!file.contains(place.getKey())) {
                    throw new IllegalArgumentException(directory + ": no tensor '" + place.getKey() + "'");
                }
                INDArray value = file.read(place.getKey());
                INDArray target = place.getValue().value();
                if (!java.util.Arrays.equals(value.shape(), target.shape())) {
                    throw new IllegalArgumentException(directory + ": tensor '" + place.getKey() + "' has shape "
                            + java.util.Arrays.toString(value.shape()) + ", the model expects "
                            + java.util.Arrays.toString(target.shape()));
                }
                target.assign(value.castTo(target.dataType()));
            }
            if (file.tensors().size() != places.size()) {
                throw new IllegalArgumentException(directory + ": " + file.tensors().size() + " tensors in the file, "
                        + places.size() + " places in the model");
            }
        }
        return places.size();
    }
}
