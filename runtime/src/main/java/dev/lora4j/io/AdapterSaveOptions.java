package dev.lora4j.io;

import org.jspecify.annotations.Nullable;

/**
 * How an adapter is written: the {@code adapter_config.json} fields that describe where it came
 * from rather than what it is (both written as JSON null unless set), and whether a PiSSA or OLoRA
 * adapter is converted to a plain LoRA adapter for the original base.
 *
 * <p><b>PiSSA and OLoRA.</b> These inits move part of each adapted base weight into the factors and
 * leave the residual {@code W − s·B₀·A₀} in the base. Saved as it is, such an adapter keeps {@code
 * init_lora_weights "pissa"} (or {@code "olora"}) and its trained {@code A}, {@code B}: it means
 * "these factors on top of the residual", and loading it (in lora4j or PEFT) onto the original
 * base recomputes {@code B₀·A₀} from the base weights, subtracts it, then loads the factors. That is
 * exact for {@code "pissa"} and {@code "olora"}; for {@code "pissa_niter_N"} the recomputed
 * randomized SVD differs from the training run's, and the loaded model with it. With {@link
 * #convertToPlainLora()} the adapter is written instead as PEFT's {@code save_pretrained(...,
 * path_initial_model_for_weight_conversion=...)} writes it: the update {@code s·(B·A − B₀·A₀)} as a
 * plain LoRA adapter of rank {@code 2r} on the original base, {@code A' = [A; A₀]} ({@code [2r,
 * in]}), {@code B' = [B, −B₀]} ({@code [out, 2r]}), {@code r} and {@code lora_alpha} doubled
 * ({@code lora_alpha} times √2 with rsLoRA, so the scaling is unchanged; PEFT refuses rsLoRA with
 * rank or alpha patterns, which lora4j writes exactly), {@code rank_pattern} and {@code
 * alpha_pattern} alike, and {@code init_lora_weights true}. That file loads onto the unmodified
 * base (no decomposition), combines with other adapters, and merges with the model-free {@code
 * lora4j merge} (which also merges an unconverted {@code "pissa"}/{@code "olora"} adapter, recomputing
 * {@code B₀·A₀}, but not a {@code "pissa_niter_N"} one).
 *
 * @param baseModelNameOrPath {@code base_model_name_or_path}, e.g. {@code distilbert-base-uncased}
 * @param taskType {@code task_type}, e.g. {@code SEQ_CLS} or {@code CAUSAL_LM}
 * @param convertToPlainLora whether a PiSSA/OLoRA adapter is written as a plain LoRA adapter of
 *     twice the rank for the original base (see above); saving an adapter of another init this way
 *     is refused
 */
public record AdapterSaveOptions(@Nullable String baseModelNameOrPath, @Nullable String taskType,
        boolean convertToPlainLora) {

    /** Options without the conversion. */
    public AdapterSaveOptions(@Nullable String baseModelNameOrPath, @Nullable String taskType) {
        this(baseModelNameOrPath, taskType, false);
    }

    /** Neither field set, no conversion. */
    public static AdapterSaveOptions defaults() {
        return new AdapterSaveOptions(null, null, false);
    }

    /** A copy with {@code base_model_name_or_path}. */
    public AdapterSaveOptions withBaseModelNameOrPath(String base) {
        return new AdapterSaveOptions(base, taskType, convertToPlainLora);
    }

    /** A copy with {@code task_type}. */
    public AdapterSaveOptions withTaskType(String task) {
        return new AdapterSaveOptions(baseModelNameOrPath, task, convertToPlainLora);
    }

    /**
     * A copy that writes a PiSSA/OLoRA adapter as a plain LoRA adapter for the original base, PEFT's
     * {@code path_initial_model_for_weight_conversion} (see the class comment).
     */
    public AdapterSaveOptions withConvertToPlainLora(boolean convert) {
        return new AdapterSaveOptions(baseModelNameOrPath, taskType, convert);
    }
}
