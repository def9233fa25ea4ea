package dev.lora4j.io;

import org.jspecify.annotations.Nullable;

/**
 * The {@code adapter_config.json} fields that describe where an adapter came from rather than what
 * it is; both are written as JSON null unless set.
 *
 * @param baseModelNameOrPath {@code base_model_name_or_path}, e.g. {@code distilbert-base-uncased}
 * @param taskType {@code task_type}, e.g. {@code SEQ_CLS} or {@code CAUSAL_LM}
 */
public record AdapterSaveOptions(@Nullable String baseModelNameOrPath, @Nullable String taskType) {

    /** Neither field set. */
    public static AdapterSaveOptions defaults() {
        return new AdapterSaveOptions(null, null);
    }

    /** A copy with {@code base_model_name_or_path}. */
    public AdapterSaveOptions withBaseModelNameOrPath(String base) {
        return new AdapterSaveOptions(base, taskType);
    }

    /** A copy with {@code task_type}. */
    public AdapterSaveOptions withTaskType(String task) {
        return new AdapterSaveOptions(baseModelNameOrPath, task);
    }
}
