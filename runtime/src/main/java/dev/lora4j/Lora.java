package dev.lora4j;

import dev.lora4j.agent.LoraAgent;
import dev.lora4j.agent.TargetSpec;
import dev.lora4j.lora.internal.AnnotationInjector;
import dev.lora4j.io.AdapterFiles;
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
 *   <li>{@link #load}: a PEFT adapter directory onto a plain model (PEFT's
 *       {@code PeftModel.from_pretrained}), and {@link #save} back (PEFT's {@code save_pretrained}).
 * </ul>
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
     * Loads the PEFT adapter directory {@code dir} into {@code model} as its active adapter {@code
     * default}; all-or-nothing. A plain model is frozen first (PEFT's {@code
     * PeftModel.from_pretrained}). A model that already carries adapters, because the agent
     * attached them at construction or {@link #inject} did, is taken over as {@link #adopt} does,
     * and its adapter {@code default} gets the saved values: the way to serve a saved adapter with
     * the {@code @LoRA}-annotated class it was trained on. The saved adapter must then sit on the
     * same layers with the same rank, alpha and dropout, or nothing changes; see {@link
     * AdapterFiles#load(LoraModel, Path, String)}.
     */
    public static <M extends Module> LoraModel<M> load(M model, Path dir) throws IOException {
        return AdapterFiles.load(model, dir);
    }

    /**
     * Loads a PEFT adapter directory into {@code model} as adapter {@code name}: a new name is added
     * inactive (PEFT's {@code load_adapter}); an existing name, trained or not, has its values
     * replaced by the saved ones, as in PEFT (save it first to keep it). See {@link
     * AdapterFiles#load(LoraModel, Path, String)}.
     */
    public static void load(LoraModel<?> model, Path dir, String name) throws IOException {
        AdapterFiles.load(model, dir, name);
    }

    /** Saves every adapter of {@code model} in PEFT's layout ({@code default} in {@code dir}, others in subfolders). */
    public static void save(LoraModel<?> model, Path dir) throws IOException {
        AdapterFiles.save(model, dir);
    }
}
