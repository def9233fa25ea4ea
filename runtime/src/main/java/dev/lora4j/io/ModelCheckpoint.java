package dev.lora4j.io;

import dev.lora4j.lora.LoraLayer;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.nn.AdaptableLayer;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A whole model's state in one safetensors file, as PyTorch's {@code state_dict} names it: every
 * parameter under its path ({@code features.0.weight}) and every buffer ({@code
 * features.1.running_mean}). Such a file is the base checkpoint that adapters are trained against
 * and that {@link CheckpointMerger} merges an adapter into.
 *
 * <p>LoRA adapter factors are never part of it: they belong in an adapter directory ({@code
 * Lora.save}). So a model the agent adapted at construction saves and loads the same file as the
 * plain model would, and loading a base checkpoint into it leaves its adapters as they are. The
 * file holds the weights the layers hold now: with adapters merged into them, the merged model
 * (what {@code mergeAndUnload()} then saving gives); with a trained {@code modules_to_save} module
 * active, that module's trained values. For a clean base from an adapted model, switch the
 * adapters off first: {@code lora.disableAdapters()} unmerges them and puts the original weights
 * back into the modules to save ({@code lora.enableAdapters()} afterwards).
 */
public final class ModelCheckpoint {

    private ModelCheckpoint() {}

    /** Writes every parameter and buffer of {@code model} (LoRA factors left out) to {@code file}, atomically. */
    public static void save(Module model, Path file) throws IOException {
        save(model, file, Map.of());
    }

    /** Like {@link #save(Module, Path)}, with string metadata. */
    public static void save(Module model, Path file, Map<String, String> metadata) throws IOException {
        SafetensorsWriter.write(file, state(model), metadata);
    }

    /** Every parameter and buffer of {@code model} by name, LoRA factors left out; the live arrays. */
    public static Map<String, INDArray> state(Module model) {
        Set<Parameter> factors = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Module module : model.namedModules().values()) {
            LoraLayer lora = module instanceof AdaptableLayer<?> layer ? LoraLayers.of(layer) : null;
            if (lora != null) {
                lora.visitParameters((name, p) -> factors.add(p));
            }
        }
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> {
            if (!factors.contains(p)) {
                tensors.put(name, p.value());
            }
        });
        model.namedBuffers().forEach((name, buffer) -> {
            if (tensors.putIfAbsent(name, buffer) != null) {
                throw new IllegalStateException("a buffer and a parameter are both named " + name);
            }
        });
        return tensors;
    }

    /**
     * Reads {@code file} into {@code model}, all or nothing, as PyTorch's strict {@code
     * load_state_dict}: every parameter and buffer of the model (LoRA factors aside, which keep
     * their values) must be in the file with its shape,
     * and the file may hold nothing else. Values are converted to each array's type (floating
     * tensors into floating arrays, integer into integer). Trainable flags are left as they are.
     *
     * @throws SafetensorsException naming the first missing, unexpected or misshapen tensor; the
     *     model is then unchanged
     */
    public static void load(Module model, Path file) throws IOException {
        Map<String, INDArray> targets = state(model);
        Map<String, INDArray> values = new LinkedHashMap<>();
        try (SafetensorsFile in = SafetensorsFile.open(file)) {
            Set<String> unexpected = new LinkedHashSet<>();
            for (TensorInfo info : in.tensors()) {
                if (!targets.containsKey(info.name())) {
                    unexpected.add(info.name());
                }
            }
            if (!unexpected.isEmpty()) {
                boolean factors = unexpected.stream().anyMatch(name -> name.contains(".lora_"));
                throw new SafetensorsException(file + ": tensors " + unexpected + " match nothing in "
                        + model.getClass().getSimpleName() + (factors
                                ? " (LoRA factors are not part of a model checkpoint: load adapters with Lora.load)" : ""));
            }
            for (Map.Entry<String, INDArray> target : targets.entrySet()) {
                String name = target.getKey();
                INDArray array = target.getValue();
                if (!in.contains(name)) {
                    throw new SafetensorsException(file + ": tensor '" + name + "' " + Arrays.toString(array.shape())
                            + " of " + model.getClass().getSimpleName() + " is missing");
                }
                TensorInfo info = in.info(name);
                if (!Arrays.equals(info.shape(), array.shape())) {
                    throw new SafetensorsException(file + ": tensor '" + name + "' has shape "
                            + Arrays.toString(info.shape()) + " but the model's has " + Arrays.toString(array.shape()));
                }
                boolean floating = array.dataType().isFPType();
                if (info.dtype().isFloatingPoint() != floating) {
                    throw new SafetensorsException(file + ": tensor '" + name + "' has dtype "
                            + info.dtype().safetensorsName() + " but the model's is " + array.dataType());
                }
                INDArray read = in.read(name);
                values.put(name, read.dataType() == array.dataType() ? read : read.castTo(array.dataType()));
            }
        }
        values.forEach((name, value) -> targets.get(name).assign(value));
    }
}
