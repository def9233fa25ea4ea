package dev.lora4j;

import dev.lora4j.agent.LoraAgent;
import dev.lora4j.agent.TargetSpec;
import dev.lora4j.lora.internal.AnnotationInjector;
import dev.lora4j.io.AdapterException;
import dev.lora4j.io.AdapterFiles;
import dev.lora4j.io.AdapterSaveOptions;
import dev.lora4j.io.NonFiniteWeightsException;
import dev.lora4j.io.PeftConfigException;
import dev.lora4j.io.SafetensorsException;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Module;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The front door of lora4j.
 *
 * <ul>
 *   <li>{@link #wrap}: adapters on the layers a {@link LoraConfig} targets (PEFT's
 *       {@code get_peft_model});
 *   <li>{@link #inject}: adapters on the {@code @LoRA} fields, without the agent;
 *   <li>{@link #adopt}: a model whose adapters the agent already attached at construction, from
 *       {@code @LoRA} fields or from a {@link TargetSpec target spec};
 *   <li>{@link #save}: every adapter of a model in PEFT's directory layout (PEFT's {@code
 *       save_pretrained}), and {@link #load} back onto a plain or agent-adapted model (PEFT's
 *       {@code PeftModel.from_pretrained}).
 * </ul>
 *
 * <p>Saving with options (base model name, task type, conversion to plain LoRA) and loading a named
 * adapter ({@code load_adapter}) are in {@link AdapterFiles}.
 *
 * <p>Kotlin users find the same operations as a DSL in {@link dev.lora4j.dsl.LoraDsl}.
 */
public final class Lora {

    private Lora() {}

    /** Freezes {@code model} and attaches the adapter {@code default} where {@code config} says. */
    public static <M extends Module> LoraModel<M> wrap(M model, LoraConfig config) {
        return LoraModel.wrap(model, LoraModel.DEFAULT_ADAPTER, config);
    }

    /**
     * Attaches adapters to every {@code @LoRA} field in {@code model}'s module tree through
     * reflection (what the agent does at construction), then freezes everything else.
     */
    public static <M extends Module> LoraModel<M> inject(M model) {
        AnnotationInjector.injectTree(model);
        return adopt(model);
    }

    /**
     * Takes over a model whose adapters the agent attached at construction, freezing everything
     * else. For a class a {@link TargetSpec target spec} names (or a subclass of one), the spec's
     * {@link LoraConfig} becomes the adapter's configuration (its bias mode and {@code
     * modules_to_save} included); for {@code @LoRA} fields, a configuration is described from the
     * layers. {@code modulesToSave} (e.g. a new classification head) then train in full and travel
     * with the adapter, as PEFT's {@code modules_to_save}.
     *
     * @param modulesToSave module names or paths, matched as {@link LoraConfig.Builder#modulesToSave} matches them
     * @throws IllegalArgumentException when the model carries no adapter, or a name matches no module
     */
    public static <M extends Module> LoraModel<M> adopt(M model, String... modulesToSave) {
        Optional<LoraConfig> spec = LoraAgent.targetConfig(model.getClass());
        if (spec.isEmpty()) {
            return LoraModel.adopt(model, List.of(modulesToSave));
        }
        LoraConfig config = spec.get();
        if (modulesToSave.length > 0) {
            List<String> all = new ArrayList<>(config.modulesToSave());
            all.addAll(List.of(modulesToSave));
            config = config.toBuilder().modulesToSave(all.toArray(String[]::new)).build();
        }
        return LoraModel.adopt(model, LoraModel.DEFAULT_ADAPTER, config);
    }

    /**
     * Saves every adapter of {@code model} in PEFT's layout (PEFT's {@code save_pretrained}): the
     * adapter {@code default} directly in {@code dir}, every other adapter in {@code dir/<name>}, as
     * PEFT does, without base model name or task type (for those, or for PEFT's conversion of a
     * PiSSA/OLoRA adapter to a plain one, see {@link AdapterFiles#save(LoraModel, Path,
     * AdapterSaveOptions)}). Each directory is written through staged files that replace the old
     * ones only once both are complete on disk, so a failure leaves that directory's previous
     * adapter intact. Staged files that a killed process left behind are removed by the next save
     * into that directory. Base weights are never written.
     *
     * @throws NonFiniteWeightsException when a tensor holds NaN or infinity (that adapter's directory
     *     is left as it was)
     * @throws IllegalArgumentException when an adapter has DoRA on some of its layers only (PEFT's
     *     {@code use_dora} is one setting per adapter), before anything is written
     */
    public static void save(LoraModel<?> model, Path dir) throws IOException {
        AdapterFiles.save(model, dir, AdapterSaveOptions.defaults());
    }

    /**
     * Loads the PEFT adapter directory {@code dir} into {@code model} as its active adapter {@code
     * default} (PEFT's {@code PeftModel.from_pretrained}). All-or-nothing: the config and every
     * tensor are checked against the model and read into memory before anything changes, and any
     * mismatch leaves the model exactly as it was.
     *
     * <p>A plain model is frozen first, as {@link #wrap} does. A model that already carries
     * adapters, because the agent attached them at construction or {@link #inject} did, is taken
     * over as {@link #adopt} does, and its adapter {@code default} gets the saved values: the way
     * to serve a saved adapter with the {@code @LoRA}-annotated class it was trained on. The saved
     * adapter must then sit on the same layers with the same rank, alpha, rsLoRA setting and
     * dropout, or nothing changes (and the base's trainable flags are restored); see {@link
     * AdapterFiles#load(LoraModel, Path, String)}.
     *
     * <p>To load under another name, or a second adapter into a model that is already a {@link
     * LoraModel} (PEFT's {@code load_adapter}), use {@link AdapterFiles#load(Module, Path, String)}
     * or {@link AdapterFiles#load(LoraModel, Path, String)}.
     *
     * @throws AdapterException for a mismatch, naming the tensor or the layer (the model is unchanged)
     * @throws PeftConfigException for an invalid {@code adapter_config.json}
     * @throws SafetensorsException for a malformed weights file
     */
    public static <M extends Module> LoraModel<M> load(M model, Path dir) throws IOException {
        return AdapterFiles.load(model, dir, LoraModel.DEFAULT_ADAPTER);
    }
}
