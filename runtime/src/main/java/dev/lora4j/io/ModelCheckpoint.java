package dev.lora4j.io;

import dev.lora4j.nn.Module;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A whole model's state in one safetensors file, as PyTorch's {@code state_dict} names it: every
 * parameter under its path ({@code features.0.weight}) and every buffer ({@code
 * features.1.running_mean}). Such a file is the base checkpoint that adapters are trained against
 * and that {@link CheckpointMerger} merges an adapter into. A model carrying adapters saves their
 * factors too ({@code ...lora_A.default.weight}); save a base model before attaching adapters, or
 * after {@code mergeAndUnload()}.
 */
public final class ModelCheckpoint {

    private ModelCheckpoint() {}

    /** Writes every parameter and buffer of {@code model} to {@code file} (atomically). */
    public static void save(Module model, Path file) throws IOException {
        save(model, file, Map.of());
    }

    /** Writes every parameter and buffer of {@code model}, with string metadata, to {@code file}. */
    public static void save(Module model, Path file, Map<String, String> metadata) throws IOException {
        SafetensorsWriter.write(file, state(model), metadata);
    }

    /** Every parameter and buffer of {@code model} by name; the live arrays. */
    public static Map<String, INDArray> state(Module model) {
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> tensors.put(name, p.value()));
        model.namedBuffers().forEach((name, buffer) -> {
            if (tensors.putIfAbsent(name, buffer) != null) {
                throw new IllegalStateException("a buffer and a parameter are both named " + name);
            }
        });
        return tensors;
    }

    /**
     * Reads {@code file} into {@code model}, all or nothing, as PyTorch's strict {@code
     * load_state_dict}: every parameter and buffer of the model must be in the file with its shape,
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
                throw new SafetensorsException(file + ": tensors " + unexpected + " match nothing in "
                        + model.getClass().getSimpleName());
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
