package dev.lora4j.io.internal;

import dev.lora4j.api.LoRA;
import dev.lora4j.api.LoraInit;
import dev.lora4j.io.AdapterException;
import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.TensorInfo;
import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.nn.AdaptableLayer;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Everything loading a PEFT adapter directory into a model would change, checked against the
 * model and read into memory before anything changes: the adapter's layers with their specs and
 * factor values, the {@code modules_to_save} values and the biases. Building a plan never modifies
 * the model; a mismatch is an {@link AdapterException} naming the tensor.
 *
 * <p>Rules: the layers are those PEFT's matching selects in the model ({@code target_modules} with
 * {@code exclude_modules}, {@code layers_to_transform}, {@code layers_pattern}; {@code "all-linear"}
 * expanded to the model's Linear layers but its output layer; for absent targets, the modules the
 * file names). Every such layer must be a
 * Linear, Embedding or Conv2d with both factors in the file, shaped {@code A [r, in]}, {@code B [out,
 * r]} (embeddings {@code [r, vocabulary]}, {@code [dim, r]}; convolutions {@code [r, in, kh, kw]},
 * {@code [out, r/groups, 1, 1]}) with {@code r} from {@code rank_pattern} or {@code r}. With {@code
 * use_dora} every such layer must take DoRA (a Linear, an Embedding or an ungrouped Conv2d) and have
 * its magnitude vector {@code <path>.lora_magnitude_vector} in the file, {@code [out]} ({@code [1, out,
 * 1, 1]} for a convolution); without it the
 * file must hold no magnitude vector. Every module in {@code modules_to_save} needs each of its parameters under {@code
 * base_model.model.<path>.<name>}, shaped as in the model. With {@code bias} other than none,
 * {@code <path>.bias} or {@code <path>.base_layer.bias} set that module's bias. Any other tensor is
 * an error. F16, BF16 and F64 values are converted to the parameter's type; integer tensors are
 * rejected.
 */
public final class AdapterLoadPlan {

    /** The file PEFT stores adapter weights in. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    private final LoraConfig config;
    private final Map<String, AdapterSettings> specs;
    private final Map<String, INDArray[]> factors;
    private final Map<String, Map<String, INDArray>> modulesToSave;
    private final Map<Parameter, INDArray> biases;

    private AdapterLoadPlan(LoraConfig config, Map<String, AdapterSettings> specs, Map<String, INDArray[]> factors,
            Map<String, Map<String, INDArray>> modulesToSave, Map<Parameter, INDArray> biases) {
        this.config = config;
        this.specs = specs;
        this.factors = factors;
        this.modulesToSave = modulesToSave;
        this.biases = biases;
    }

    /** The adapter's lora4j configuration. */
    public LoraConfig config() {
        return config;
    }

    /** The adapted layers' specs, by module path. */
    public Map<String, AdapterSettings> specs() {
        return specs;
    }

    /** {@code {A, B}}, or {@code {A, B, m}} for a DoRA adapter, by module path, in each layer's dtype. */
    public Map<String, INDArray[]> factors() {
        return factors;
    }

    /** The values of each module to save, by module path and parameter name. */
    public Map<String, Map<String, INDArray>> modulesToSave() {
        return modulesToSave;
    }

    /** Bias values by parameter. */
    public Map<Parameter, INDArray> biases() {
        return biases;
    }

    /**
     * Reads {@code dir}'s {@code adapter_config.json} and {@code adapter_model.safetensors} and
     * checks them against {@code model}. Whether an adapter of the same name may be replaced is the
     * caller's decision.
     *
     * @throws AdapterException for any mismatch, naming the tensor
     * @throws dev.lora4j.io.PeftConfigException for an invalid config
     * @throws dev.lora4j.io.SafetensorsException for a malformed weights file
     * @throws IOException if the files cannot be read
     */
    public static AdapterLoadPlan read(Module model, Path dir) throws IOException {
        PeftAdapterConfig peft = PeftAdapterConfig.read(dir.resolve(PeftAdapterConfig.FILE_NAME));
        PeftConfigMapping.unsupported(peft);
        Path weights = dir.resolve(WEIGHTS_FILE);
        if (!Files.exists(weights) && Files.exists(dir.resolve("adapter_model.bin"))) {
            throw new AdapterException(dir + ": only adapter_model.bin found; lora4j reads safetensors only"
                    + " (save with safe_serialization=True)");
        }
        try (SafetensorsFile file = SafetensorsFile.open(weights)) {
            return new Reader(model, peft, file).read();
        }
    }

    /** One pass over the file and the model. */
    private static final class Reader {
        private final PeftAdapterConfig peft;
        private final SafetensorsFile file;
        private final String label;
        private final Map<String, Module> modules;
        private final AdapterTensors tensors;
        private final Map<String, TensorInfo> others;

        Reader(Module model, PeftAdapterConfig peft, SafetensorsFile file) {
            this.peft = peft;
            this.file = file;
            this.label = file.path().toString();
            this.modules = model.namedModules();
            this.tensors = AdapterTensors.of(file.header(), label);
            this.others = new LinkedHashMap<>(tensors.others());
        }

        AdapterLoadPlan read() {
            if (!peft.useDora()) {
                tensors.pairs().values().stream().filter(p -> p.magnitude() != null).findFirst().ifPresent(p -> {
                    throw error("tensor '" + p.magnitude().name() + "' is a DoRA magnitude vector, but "
                            + PeftAdapterConfig.FILE_NAME + " does not set use_dora");
                });
            }
            Set<String> targeted = targets();
            if (targeted.isEmpty() && peft.targetModules().isPresent()) {
                String why = peft.whyNothingTargeted(modules);
                throw error(PeftAdapterConfig.FILE_NAME + " target_modules " + peft.targetModules().get()
                        + " select no module of the model" + (why == null ? "" : ": " + why));
            }
            for (AdapterTensors.Pair pair : tensors.pairs().values()) {
                checkPairModule(pair, targeted);
            }
            if (targeted.isEmpty()) {
                throw error(PeftAdapterConfig.FILE_NAME + " target_modules null select no module of the model");
            }
            Map<String, AdapterSettings> specs = new LinkedHashMap<>();
            Map<String, INDArray[]> factors = new LinkedHashMap<>();
            LoraConfig config = PeftConfigMapping.fromPeft(peft, targeted);
            for (String path : targeted) {
                Module module = modules.get(path);
                AdapterTensors.Pair pair = tensors.pairs().get(path);
                boolean embedding = module instanceof Embedding;
                if (pair == null) {
                    throw error("tensor '" + AdapterTensors.factorKey(path, embedding, true) + "' is missing: "
                            + PeftAdapterConfig.FILE_NAME + " targets " + path + " (" + module + ")");
                }
                int r = peft.rankFor(path);
                double alpha = peft.alphaFor(path);
                long[][] shapes;
                try {
                    shapes = LoraLayers.factorShapes((AdaptableLayer<?>) module, r);
                } catch (IllegalArgumentException e) {
                    throw error("tensor '" + pair.a().name() + "': " + e.getMessage());
                }
                checkShape(pair.a(), shapes[0], path, module, r);
                checkShape(pair.b(), shapes[1], path, module, r);
                DataType type = baseWeight(module).dataType();
                // PEFT's Embedding ignores PiSSA/OLoRA and starts from its default init, which the saved
                // factors replace; on a Linear the init runs again and leaves its residual in the base
                LoraInit init = embedding && config.init().changesBaseWeight() ? LoraInit.KAIMING_UNIFORM : config.init();
                specs.put(path, new AdapterSettings(r, alpha, config.dropout(), config.rslora(), init, config.dora(),
                        init == LoraInit.PISSA ? config.pissaNiter() : LoRA.PISSA_EXACT));
                factors.put(path, config.dora()
                        ? new INDArray[] {values(pair.a(), type), values(pair.b(), type), magnitude(pair, path, module, type)}
                        : new INDArray[] {values(pair.a(), type), values(pair.b(), type)});
            }
            Map<String, Map<String, INDArray>> saved = modulesToSave(config, targeted);
            Map<Parameter, INDArray> biases = biases();
            if (!others.isEmpty()) {
                TensorInfo extra = others.values().iterator().next();
                throw error("tensor '" + extra.name() + "' " + Arrays.toString(extra.shape())
                        + " matches no adapted layer, module to save" + (peft.bias().peftName().equals("none")
                        ? "" : " or bias") + " of the model");
            }
            return new AdapterLoadPlan(config, specs, factors, saved, biases);
        }

        /**
         * The DoRA magnitude vector of {@code path}, checked: present, shaped for the layer ({@link
         * LoraLayers#magnitudeShape}), floating point.
         */
        private INDArray magnitude(AdapterTensors.Pair pair, String path, Module module, DataType type) {
            String key = AdapterTensors.magnitudeKey(path);
            long[] expected;
            try {
                expected = LoraLayers.magnitudeShape((AdaptableLayer<?>) module);
            } catch (IllegalArgumentException e) {
                throw error(PeftAdapterConfig.FILE_NAME + " sets use_dora, but " + path + " is a "
                        + module.getClass().getSimpleName() + ": " + e.getMessage());
            }
            TensorInfo m = pair.magnitude();
            if (m == null) {
                throw error("tensor '" + key + "' is missing: " + PeftAdapterConfig.FILE_NAME + " sets use_dora and "
                        + path + " (" + module + ") has DoRA factors");
            }
            if (!Arrays.equals(m.shape(), expected)) {
                throw error("tensor '" + m.name() + "' has shape " + Arrays.toString(m.shape()) + " but " + path + " ("
                        + module + ") needs a DoRA magnitude vector of " + Arrays.toString(expected)
                        + ", one value per output feature");
            }
            checkFloat(m);
            return values(m, type);
        }

        /** The layers PEFT would adapt, in model order. */
        private Set<String> targets() {
            boolean fromFile = peft.targetModules().isEmpty();
            Set<String> byConfig = fromFile ? Set.of() : peft.targetedModules(modules);
            Set<String> out = new LinkedHashSet<>();
            for (String path : modules.keySet()) {
                if (path.isEmpty()) {
                    continue;
                }
                boolean selected = fromFile ? tensors.pairs().containsKey(path) : byConfig.contains(path);
                if (selected) {
                    Module module = modules.get(path);
                    if (!(module instanceof AdaptableLayer<?>)) {
                        String key = AdapterTensors.factorKey(path, false, true);
                        throw error(tensors.pairs().containsKey(path)
                                ? "tensor '" + key + "': " + path + " is a " + module.getClass().getSimpleName()
                                        + "; LoRA factors need a Linear, Embedding or Conv2d"
                                : PeftAdapterConfig.FILE_NAME + " targets " + path + ", a " + module.getClass().getSimpleName()
                                        + ", which LoRA cannot adapt (only Linear, Embedding and Conv2d)");
                    }
                    out.add(path);
                }
            }
            return out;
        }

        private void checkPairModule(AdapterTensors.Pair pair, Set<String> targeted) {
            Module module = modules.get(pair.module());
            String key = pair.a().name();
            if (module == null) {
                throw error("tensor '" + key + "' " + Arrays.toString(pair.a().shape()) + " names module '"
                        + pair.module() + "', which the model does not have");
            }
            if (!targeted.contains(pair.module())) {
                if (!(module instanceof AdaptableLayer<?>)) {
                    throw error("tensor '" + key + "': " + pair.module() + " is a " + module.getClass().getSimpleName()
                            + "; LoRA factors need a Linear, Embedding or Conv2d");
                }
                throw error("tensor '" + key + "' " + Arrays.toString(pair.a().shape()) + " is for " + pair.module()
                        + ", which " + PeftAdapterConfig.FILE_NAME + " does not target (target_modules "
                        + peft.targetModules().map(Object::toString).orElse("null") + ")");
            }
            boolean embedding = module instanceof Embedding;
            if (embedding != pair.embedding()) {
                throw error("tensor '" + key + "': " + pair.module() + " is " + (embedding
                        ? "an Embedding, whose PEFT keys are lora_embedding_A/lora_embedding_B"
                        : "a " + module.getClass().getSimpleName() + ", whose PEFT keys are lora_A.weight/lora_B.weight"));
            }
        }

        private void checkShape(TensorInfo info, long[] expected, String path, Module module, int r) {
            if (!Arrays.equals(info.shape(), expected)) {
                throw error("tensor '" + info.name() + "' has shape " + Arrays.toString(info.shape()) + " but " + path
                        + " (" + module + ", r=" + r + " from " + PeftAdapterConfig.FILE_NAME + ") needs "
                        + Arrays.toString(expected));
            }
            checkFloat(info);
        }

        private void checkFloat(TensorInfo info) {
            if (!info.dtype().isFloatingPoint()) {
                throw error("tensor '" + info.name() + "' has dtype " + info.dtype().safetensorsName()
                        + "; adapter weights must be F16, BF16, F32 or F64");
            }
        }

        private Map<String, Map<String, INDArray>> modulesToSave(LoraConfig config, Set<String> targeted) {
            Map<String, Map<String, INDArray>> out = new LinkedHashMap<>();
            for (Map.Entry<String, Module> entry : modules.entrySet()) {
                String path = entry.getKey();
                if (path.isEmpty() || !config.savesModule(path)) {
                    continue;
                }
                if (targeted.contains(path)) {
                    throw error(path + " is both adapted and in modules_to_save");
                }
                Map<String, INDArray> values = new LinkedHashMap<>();
                for (Map.Entry<String, Parameter> p : entry.getValue().namedParameters().entrySet()) {
                    String key = AdapterTensors.PREFIX + path + "." + p.getKey();
                    TensorInfo info = others.remove(key);
                    long[] shape = p.getValue().shape();
                    if (info == null) {
                        throw error("tensor '" + key + "' " + Arrays.toString(shape) + " is missing: " + path
                                + " is in modules_to_save");
                    }
                    if (!Arrays.equals(info.shape(), shape)) {
                        throw error("tensor '" + key + "' has shape " + Arrays.toString(info.shape()) + " but "
                                + path + "." + p.getKey() + " has shape " + Arrays.toString(shape));
                    }
                    checkFloat(info);
                    values.put(p.getKey(), values(info, p.getValue().dataType()));
                }
                out.put(path, values);
            }
            return out;
        }

        private Map<Parameter, INDArray> biases() {
            Map<Parameter, INDArray> out = new IdentityHashMap<>();
            if (peft.bias().peftName().equals("none")) {
                return out;
            }
            for (TensorInfo info : java.util.List.copyOf(others.values())) {
                String key = info.name();
                if (!key.endsWith(".bias")) {
                    continue;
                }
                String path = key.substring(AdapterTensors.PREFIX.length(), key.length() - ".bias".length());
                if (path.endsWith(".base_layer")) {
                    path = path.substring(0, path.length() - ".base_layer".length());
                }
                Module module = modules.get(path);
                Parameter bias = module == null ? null : module.directParameters().get("bias");
                if (bias == null) {
                    throw error("tensor '" + key + "' " + Arrays.toString(info.shape()) + " is a bias, but the model has"
                            + " no module '" + path + "' with a bias");
                }
                if (!Arrays.equals(info.shape(), bias.shape())) {
                    throw error("tensor '" + key + "' has shape " + Arrays.toString(info.shape()) + " but " + path
                            + ".bias has shape " + Arrays.toString(bias.shape()));
                }
                checkFloat(info);
                out.put(bias, values(info, bias.dataType()));
                others.remove(key);
            }
            return out;
        }

        private INDArray values(TensorInfo info, DataType type) {
            INDArray read = file.read(info.name());
            return read.dataType() == type ? read : read.castTo(type);
        }

        private static Parameter baseWeight(Module module) {
            return ((AdaptableLayer<?>) module).weight();
        }

        private AdapterException error(String message) {
            return new AdapterException(label + ": " + message);
        }
    }
}
