package dev.lora4j.pipeline;

import dev.lora4j.Lora;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.lora.AdapterFactory;
import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraLayer;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.internal.TargetSelection;
import dev.lora4j.nn.AdaptableLayer;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.internal.AdapterAttachments;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Makes trainable what a {@link FineTuneMode} trains: adapters (from the model's {@code @LoRA}
 * fields through the agent, or from a {@link LoraConfig} through the bound {@link
 * AdapterFactory}) plus the head, the head alone, or every weight. The {@link FineTuneRunner}
 * does this for every job; code that trains a job's model elsewhere (a Spark task) does the same.
 *
 * @param lora the adapted model, {@code null} without adapters
 * @param by how the adapters were put on: {@code agent}, {@code LoraConfig} or {@code none}
 * @param <M> the model
 */
public record TrainableParts<M extends Module>(@Nullable LoraModel<M> lora, String by) {

    /**
     * Installs the agent before the model is built when the options put adapters on through it:
     * {@link FineTuneOptions#agent()} in LoRA mode, with the rank, alpha and targets of the job's
     * LoRA {@linkplain FineTuneJob#defaults defaults}, which for a model with {@code @LoRA} fields
     * are its annotations. Other settings go through a {@code LoraConfig}, without the agent.
     */
    public static void prepare(FineTuneOptions options, FineTuneJob<?, ?> job) {
        FineTuneOptions annotated = job.defaults(FineTuneMode.LORA);
        if (options.mode() == FineTuneMode.LORA && options.agent() && options.rank() == annotated.rank()
                && options.alpha() == annotated.alpha() && options.targets().equals(annotated.targets())) {
            LoraAgent.install(); // the agent adapts @LoRA fields as the model is constructed
        }
    }

    /**
     * Sets {@code model} up for {@code options}: with {@link FineTuneOptions#agent()}, the adapters
     * the agent attached at construction are taken over when they are exactly what the options ask
     * for (same modules, rank, alpha and DoRA or not); otherwise any such adapters come off and {@code factory}
     * puts the options' on.
     *
     * @param head the modules that train in full next to the adapters, or alone
     * @throws IllegalArgumentException naming a head module the model lacks
     */
    public static <M extends Module> TrainableParts<M> apply(M model, FineTuneOptions options, List<String> head,
            AdapterFactory factory) {
        Map<String, Module> modules = model.namedModules();
        for (String name : head) {
            if (!modules.containsKey(name)) {
                throw new IllegalArgumentException("the model has no head module '" + name + "'");
            }
        }
        LoraConfig.Builder builder = LoraConfig.builder().rank(options.rank()).alpha(options.alpha())
                .dora(options.mode() == FineTuneMode.DORA).modulesToSave(head.toArray(String[]::new))
                .seed(options.seed());
        if (options.targets().size() == 1 && TargetSelection.isAllLinear(options.targets().get(0))) {
            builder.targetAllLinear(); // PEFT's shorthand: every Linear but the output layer and the head
        } else {
            builder.targetModules(options.targets().toArray(String[]::new));
        }
        LoraConfig config = builder.build();
        if (options.mode() == FineTuneMode.LORA && options.agent() && attachedMatch(modules, config, model)) {
            return new TrainableParts<>(Lora.adopt(model, head.toArray(String[]::new)), "agent");
        }
        detachAll(modules);
        model.unfreeze();
        return switch (options.mode()) {
            case LORA, DORA -> new TrainableParts<>(factory.wrap(model, config), "LoraConfig");
            case HEAD_ONLY -> {
                model.freeze();
                head.forEach(name -> modules.get(name).unfreeze());
                yield new TrainableParts<>(null, "none");
            }
            case FULL -> new TrainableParts<>(null, "none");
        };
    }

    /** Whether the adapters attached at construction sit exactly where {@code config} puts its own, alike. */
    private static boolean attachedMatch(Map<String, Module> modules, LoraConfig config, Module model) {
        boolean any = false;
        Set<String> selected = config.targetedModules(model);
        for (Map.Entry<String, Module> entry : modules.entrySet()) {
            LoraLayer layer = entry.getValue() instanceof AdaptableLayer<?> adaptable ? LoraLayers.of(adaptable) : null;
            boolean targeted = entry.getValue() instanceof AdaptableLayer<?> && selected.contains(entry.getKey());
            if (layer == null) {
                if (targeted) {
                    return false;
                }
                continue;
            }
            var adapter = layer.adapter(LoraModel.DEFAULT_ADAPTER);
            if (!targeted || adapter == null || layer.adapters().size() != 1) {
                return false;
            }
            AdapterSettings wanted = config.settingsFor(entry.getKey());
            if (adapter.spec().rank() != wanted.rank() || adapter.spec().alpha() != wanted.alpha()
                    || adapter.spec().dora() != wanted.dora()) {
                return false;
            }
            any = true;
        }
        return any;
    }

    private static void detachAll(Map<String, Module> modules) {
        for (Module module : modules.values()) {
            if (module instanceof AdaptableLayer<?> layer && LoraLayers.of(layer) != null) {
                AdapterAttachments.detach(layer);
            }
        }
    }
}
