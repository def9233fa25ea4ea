package dev.lora4j.io;

import dev.lora4j.api.LoraInit;
import dev.lora4j.io.internal.PeftConfigMapping;
import dev.lora4j.io.internal.PeftJson;
import dev.lora4j.lora.LoraConfig;

/**
 * Turns a PEFT LoRA configuration ({@link PeftAdapterConfig}) into a lora4j {@link LoraConfig},
 * strictly: whatever lora4j cannot do exactly as PEFT would is refused with a one-line {@link
 * PeftConfigException} naming the source and the field, never silently approximated. Used for the
 * agent's target specs ({@code -javaagent:lora4j.jar=config=lora.json}) and for any code that
 * starts from a PEFT-style JSON file.
 *
 * <table>
 *   <caption>Field by field</caption>
 *   <tr><th>PEFT field</th><th>lora4j</th></tr>
 *   <tr><td>{@code r} (default 8)</td><td>{@link LoraConfig#rank()}</td></tr>
 *   <tr><td>{@code lora_alpha} (default 8, as in PEFT, whatever {@code r} is)</td><td>{@link LoraConfig#alpha()}</td></tr>
 *   <tr><td>{@code lora_dropout}</td><td>{@link LoraConfig#dropout()}</td></tr>
 *   <tr><td>{@code target_modules}: a list of names, one regex string, or {@code "all-linear"}</td>
 *       <td>{@link LoraConfig#targetModules()} (suffix match), {@link LoraConfig#targetRegex()} (whole path) or
 *       {@link LoraConfig#targetsAllLinear()} (every Linear but the output layer); required</td></tr>
 *   <tr><td>{@code exclude_modules}: a list of names or one regex string</td>
 *       <td>{@link LoraConfig#excludeModules()} or {@link LoraConfig#excludeRegex()}</td></tr>
 *   <tr><td>{@code layers_to_transform} (an index or a list), {@code layers_pattern} (a string or a list)</td>
 *       <td>{@link LoraConfig#layersToTransform()}, {@link LoraConfig#layersPattern()} (only with a list of
 *       target names, as in PEFT)</td></tr>
 *   <tr><td>{@code rank_pattern}, {@code alpha_pattern}</td><td>the same, order kept (first matching key wins)</td></tr>
 *   <tr><td>{@code modules_to_save}</td><td>{@link LoraConfig#modulesToSave()} (duplicates dropped)</td></tr>
 *   <tr><td>{@code bias}</td><td>{@link LoraConfig#bias()}</td></tr>
 *   <tr><td>{@code use_rslora}</td><td>{@link LoraConfig#rslora()}</td></tr>
 *   <tr><td>{@code use_dora}</td><td>{@link LoraConfig#dora()} (DoRA is implemented for Linear, Embedding and ungrouped Conv2d layers;
 *       loading an adapter refuses any other target)</td></tr>
 *   <tr><td>{@code init_lora_weights}: true, false, {@code "gaussian"}, {@code "pissa"}, {@code "pissa_niter_N"},
 *       {@code "olora"}</td>
 *       <td>{@link LoraInit#KAIMING_UNIFORM}, {@link LoraInit#RANDOM}, {@link LoraInit#GAUSSIAN}, {@link LoraInit#PISSA}
 *       (with {@link LoraConfig#pissaNiter()} {@code N}), {@link LoraInit#OLORA}; other schemes (CorDA, LoftQ, EVA, ...)
 *       refused</td></tr>
 *   <tr><td>{@code fan_in_fan_out}</td><td>{@link LoraConfig#fanInFanOut()}</td></tr>
 *   <tr><td>{@code lora_bias}, {@code target_parameters}</td>
 *       <td>refused when set (lora4j does not implement them)</td></tr>
 * </table>
 *
 * <p>Fields that do not change which layers are adapted or how ({@code task_type}, {@code
 * base_model_name_or_path}, {@code inference_mode}, ...) are ignored; {@code task_type} {@code
 * SEQ_CLS} with {@code "all-linear"} is refused, since PEFT then leaves out a {@code score} or {@code
 * classifier} head that a {@link LoraConfig} cannot name: put the head in {@code modules_to_save}
 * (as PEFT's sequence-classification models do) and drop the task type, or list the targets.
 */
public final class PeftConfigConverter {

    private PeftConfigConverter() {}

    /**
     * The lora4j configuration {@code peft} describes.
     *
     * @throws PeftConfigException naming {@link PeftAdapterConfig#source()} and the field, for a
     *     missing {@code target_modules}, a PEFT feature lora4j does not implement, or a value
     *     {@link LoraConfig.Builder#build()} rejects
     */
    public static LoraConfig toLoraConfig(PeftAdapterConfig peft) {
        refuseUnsupported(peft);
        LoraConfig.Builder b = PeftConfigMapping.directFields(peft, init(peft));
        TargetModules targets = peft.targetModules().orElseThrow(() -> fail(peft, "target_modules",
                "is missing: list the layers to adapt (e.g. [\"query\", \"value\"]) or give a regex over module paths"));
        if (targets.isAllLinear() && peft.isSequenceClassification()) {
            throw fail(peft, "task_type", "\"SEQ_CLS\" with target_modules \"all-linear\" leaves out a score or"
                    + " classifier head by PEFT's rule, which lora4j applies to adapter files only; put the head in"
                    + " modules_to_save and drop task_type");
        }
        if (peft.layersPattern().stream().anyMatch(String::isBlank)) {
            throw fail(peft, "layers_pattern", "holds an empty name, which finds no layer index in any module path");
        }
        PeftConfigMapping.selectionFields(peft, b); // false only for no target names: build() then says so
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new PeftConfigException(peft.source() + ": " + e.getMessage(), e);
        }
    }

    private static LoraInit init(PeftAdapterConfig peft) {
        return peft.loraInit().orElseThrow(() -> fail(peft, "init_lora_weights",
                PeftJson.write(peft.get("init_lora_weights")) + " is not supported by lora4j; use true, false,"
                        + " \"gaussian\", \"pissa\", \"pissa_niter_N\" or \"olora\""));
    }

    private static void refuseUnsupported(PeftAdapterConfig peft) {
        PeftConfigMapping.unsupportedFeatures(peft).entrySet().stream().findFirst().ifPresent(problem -> {
            throw fail(peft, problem.getKey(), problem.getValue());
        });
    }

    private static PeftConfigException fail(PeftAdapterConfig peft, String field, String problem) {
        return new PeftConfigException(peft.source() + ": field '" + field + "' " + problem);
    }
}
