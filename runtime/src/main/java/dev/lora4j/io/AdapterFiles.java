package dev.lora4j.io;

import dev.lora4j.io.internal.AdapterDirectoryWriter;
import dev.lora4j.io.internal.AdapterLoadPlan;
import dev.lora4j.io.internal.AdapterStateDict;
import dev.lora4j.io.internal.FiniteCheck;
import dev.lora4j.io.internal.PeftConfigMapping;
import dev.lora4j.io.internal.PlainLoraConversion;
import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.LoraAdapter;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraLayer;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.AdaptableLayer;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * LoRA adapters in PEFT's directory layout, so adapters travel both ways between lora4j and
 * Python's PEFT: the variants that take options or adapter names. The plain save and load (PEFT's
 * {@code save_pretrained} and {@code PeftModel.from_pretrained}) are {@link dev.lora4j.Lora#save}
 * and {@link dev.lora4j.Lora#load}; this class holds saving with {@link AdapterSaveOptions} (base
 * model name, task type, conversion to plain LoRA), saving one adapter, the {@code
 * adapter_config.json} a save writes, and loading under an adapter name (PEFT's {@code
 * load_adapter}).
 *
 * <p>An adapter directory holds {@code adapter_config.json} and {@code adapter_model.safetensors}.
 * {@link #save(LoraModel, Path, AdapterSaveOptions)} writes the adapter {@code default} directly in
 * the directory and every other adapter in a subdirectory of its name, as PEFT does. Tensor names and shapes are
 * PEFT's: {@code base_model.model.<module path>.lora_A.weight [r, in]} and {@code .lora_B.weight
 * [out, r]}; for a Conv2d the same names with kernels {@code lora_A.weight [r, in, kh, kw]} and
 * {@code lora_B.weight [out, r/groups, 1, 1]}; {@code .lora_embedding_A [r, vocabulary]} and {@code .lora_embedding_B [dim, r]} (no
 * {@code .weight}: PEFT keeps embedding factors as bare parameters); {@code modules_to_save}
 * parameters as {@code base_model.model.<path>.<name>}; biases when {@code bias} is not none; a
 * DoRA adapter's magnitude vectors as {@code base_model.model.<path>.lora_magnitude_vector [out]},
 * with {@code "use_dora": true} in the config.
 * Base weights are never written. Each directory is replaced all-or-nothing (see {@link
 * #save(LoraModel, Path, AdapterSaveOptions)}).
 *
 * <p><b>PiSSA and OLoRA.</b> An adapter with {@code init_lora_weights "pissa"}, {@code
 * "pissa_niter_N"} or {@code "olora"} was trained on the residual base {@code W − s·B₀·A₀} its init
 * left in the model. Saved as it is, its factors mean "on that residual", and loading it onto the
 * original base recomputes the init on each Linear layer, leaves the residual in the base weight and
 * then sets the saved factors, as PEFT's {@code load_adapter} does (exact for {@code "pissa"} and
 * {@code "olora"}; a randomized {@code "pissa_niter_N"} residual is not the training run's). Saved
 * with {@link AdapterSaveOptions#convertToPlainLora()}, it is PEFT's conversion to a plain LoRA
 * adapter of rank {@code 2r} for the original base (see {@link AdapterSaveOptions}).
 *
 * <p>Loading is all-or-nothing: the config and every tensor are checked against the model and read
 * into memory before anything changes; any mismatch (a module the model lacks or that is not a
 * Linear/Embedding/Conv2d, a wrong shape or rank, a missing tensor, a tensor that fits nothing, an integer
 * dtype) is an {@link AdapterException} naming the tensor, and the model is left exactly as it was.
 * Per-module ranks and alphas come from {@code rank_pattern}/{@code alpha_pattern}. F16, BF16 and
 * F64 values are converted to the layer's type.
 */
public final class AdapterFiles {

    /** The weights file of an adapter directory. */
    public static final String WEIGHTS_FILE = AdapterLoadPlan.WEIGHTS_FILE;

    private static final Map<String, String> METADATA = Map.of("format", "pt");

    private AdapterFiles() {}

    /**
     * Saves every adapter of {@code model}: {@code default} into {@code dir}, any other into {@code
     * dir/<name>}. Each directory is written through staged files that replace the old ones only
     * once both are complete on disk, so a failure leaves that directory's previous adapter intact.
     * Staged files that a killed process left behind are removed by the next save into that
     * directory.
     *
     * @throws NonFiniteWeightsException when a tensor holds NaN or infinity (that adapter's directory
     *     is left as it was)
     * @throws IllegalArgumentException when an adapter has DoRA on some of its layers only (PEFT's
     *     {@code use_dora} is one setting per adapter), before anything is written
     */
    public static void save(LoraModel<?> model, Path dir, AdapterSaveOptions options) throws IOException {
        for (String adapter : model.adapterNames()) {
            Path target = adapter.equals(LoraModel.DEFAULT_ADAPTER) ? dir : dir.resolve(adapter);
            saveAdapter(model, adapter, target, options, AdapterDirectoryWriter.Checkpoint.NONE);
        }
    }

    /**
     * Saves one adapter directly into {@code dir} (no subdirectory), whatever its name.
     *
     * @throws NonFiniteWeightsException when a tensor holds NaN or infinity (nothing is written)
     */
    public static void saveAdapter(LoraModel<?> model, String adapter, Path dir, AdapterSaveOptions options)
            throws IOException {
        saveAdapter(model, adapter, dir, options, AdapterDirectoryWriter.Checkpoint.NONE);
    }

    static void saveAdapter(LoraModel<?> model, String adapter, Path dir, AdapterSaveOptions options,
            AdapterDirectoryWriter.Checkpoint checkpoint) throws IOException {
        PeftAdapterConfig config = peftConfig(model, adapter, options);
        Map<String, INDArray> tensors = AdapterStateDict.of(model, adapter);
        if (options.convertToPlainLora()) {
            tensors = PlainLoraConversion.tensors(model, adapter, tensors);
        }
        for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
            String problem = FiniteCheck.problem(e.getValue());
            if (problem != null) {
                throw new NonFiniteWeightsException("refusing to save adapter '" + adapter + "' to " + dir + ": tensor '"
                        + e.getKey() + "' holds " + problem + "; nothing was written");
            }
        }
        AdapterDirectoryWriter.write(dir, config, tensors, METADATA, checkpoint);
    }

    /**
     * The {@code adapter_config.json} {@link #save} writes for {@code adapter} (with {@link
     * AdapterSaveOptions#convertToPlainLora()}, that of the converted adapter: rank, alpha and
     * patterns doubled, {@code init_lora_weights true}).
     */
    public static PeftAdapterConfig peftConfig(LoraModel<?> model, String adapter, AdapterSaveOptions options) {
        boolean convert = options.convertToPlainLora();
        Map<String, AdapterSettings> specs = new LinkedHashMap<>();
        for (Map.Entry<String, LoraLayer> e : model.layers(adapter).entrySet()) {
            AdapterSettings spec = e.getValue().adapter(adapter).spec();
            specs.put(e.getKey(), convert ? PlainLoraConversion.spec(spec) : spec);
        }
        LoraConfig config = convert ? PlainLoraConversion.config(model.config(adapter)) : model.config(adapter);
        return PeftConfigMapping.toPeft(config, specs, model.model().namedModules(), options);
    }

    /**
     * Loads the adapter in {@code dir} into {@code model} as adapter {@code name}. All-or-nothing;
     * see the class comment.
     *
     * <p>A new name becomes an adapter of its own, inactive unless it is the model's first. Safe
     * while other threads run the model: the adapter's factors are complete before any layer
     * shows it, and the name is known to {@link LoraModel#scope} only after every layer does
     * (trained biases, with {@code bias} other than none, are written into the shared base layers
     * afterwards).
     *
     * <p>A name the model already has is loaded as PEFT's {@code load_adapter} does: the file's
     * values <em>replace</em> that adapter's, whether it was freshly initialised (by the agent or
     * by {@code Lora.inject}) or trained, so a trained adapter of that name is lost unless saved
     * first. This is the way to serve a saved adapter with the same {@code @LoRA}-annotated class
     * it was trained on. The file must describe the same adapter: the same layers, each with the
     * same rank, alpha, rsLoRA setting and dropout; otherwise nothing changes and the error names the
     * layer and the setting. The adapter keeps its active state and its factor objects (only
     * their values change); the file's configuration (its {@code modules_to_save}, bias mode and
     * PEFT fields) becomes the adapter's. Not meant to run while other threads compute with it.
     *
     * @throws AdapterException for a mismatch, naming the tensor or the layer (the model is unchanged)
     * @throws PeftConfigException for an invalid {@code adapter_config.json}
     * @throws SafetensorsException for a malformed weights file
     */
    public static void load(LoraModel<?> model, Path dir, String name) throws IOException {
        apply(model, dir, name, AdapterLoadPlan.read(model.model(), dir));
    }

    /**
     * Loads the adapter in {@code dir} into a model as adapter {@code name}, made active (for
     * {@code default}, {@link dev.lora4j.Lora#load} says it shorter). A plain model is frozen as
     * {@link LoraModel#wrap} does; a model that already carries adapters (built under the agent, or
     * passed through {@code Lora.inject}) is taken over as {@link LoraModel#adopt(Module,
     * java.util.List)} does, and an adapter {@code name} it carries gets the file's values as
     * {@link #load(LoraModel, Path, String)} describes. All-or-nothing: on a mismatch the model,
     * its parameters' trainable flags included, is left as it was.
     *
     * @throws AdapterException for a mismatch, naming the tensor or the layer (the model is unchanged)
     * @throws PeftConfigException for an invalid {@code adapter_config.json}
     * @throws SafetensorsException for a malformed weights file
     */
    public static <M extends Module> LoraModel<M> load(M model, Path dir, String name) throws IOException {
        AdapterLoadPlan plan = AdapterLoadPlan.read(model, dir);
        if (carriesAdapters(model)) {
            Map<Parameter, Boolean> trainable = new IdentityHashMap<>();
            model.parameters().forEach(p -> trainable.put(p, p.isTrainable()));
            LoraModel<M> lora = LoraModel.adopt(model, java.util.List.of());
            try {
                apply(lora, dir, name, plan);
            } catch (RuntimeException e) {
                trainable.forEach(Parameter::setTrainable); // adopting froze the base: undo, the load changed nothing else
                throw e;
            }
            lora.setActiveAdapters(name);
            return lora;
        }
        LoraModel<M> lora = LoraModel.wrap(model, name, plan.config(), plan.specs());
        fill(lora, name, plan);
        return lora;
    }

    private static boolean carriesAdapters(Module model) {
        return model.namedModules().values().stream()
                .anyMatch(m -> m instanceof AdaptableLayer<?> layer && LoraLayers.of(layer) != null);
    }

    private static void apply(LoraModel<?> model, Path dir, String name, AdapterLoadPlan plan) {
        if (model.adapterNames().contains(name)) {
            replace(model, dir, name, plan);
        } else {
            model.addAdapter(name, plan.config(), plan.specs(), plan.factors());
        }
        fillOthers(model, name, plan);
    }

    private static void replace(LoraModel<?> model, Path dir, String name, AdapterLoadPlan plan) {
        try {
            model.replaceAdapterValues(name, plan.config(), plan.specs(), plan.factors());
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new AdapterException(dir.resolve(WEIGHTS_FILE) + ": cannot load into the model's adapter '" + name
                    + "': " + e.getMessage() + "; the model is unchanged", e);
        }
    }

    private static void fill(LoraModel<?> model, String name, AdapterLoadPlan plan) {
        Map<String, LoraLayer> layers = model.layers(name);
        plan.factors().forEach((path, ab) -> {
            LoraAdapter adapter = layers.get(path).adapter(name);
            adapter.a().value().assign(ab[0]);
            adapter.b().value().assign(ab[1]);
            if (adapter.isDora()) {
                adapter.magnitude().value().assign(ab[2]);
            }
        });
        fillOthers(model, name, plan);
    }

    private static void fillOthers(LoraModel<?> model, String name, AdapterLoadPlan plan) {
        plan.modulesToSave().forEach((path, values) -> model.setModuleToSaveValues(name, path, values));
        plan.biases().forEach((bias, value) -> bias.value().assign(value));
    }
}
