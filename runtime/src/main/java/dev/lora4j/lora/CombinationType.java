package dev.lora4j.lora;

/**
 * How {@link LoraModel#addWeightedAdapter} combines adapters, following PEFT's {@code
 * add_weighted_adapter}. On each layer, adapter {@code i} has factors {@code A_i [r_i, in]}, {@code
 * B_i [out, r_i]}, scaling {@code s_i} and user weight {@code w_i}; its update is {@code ΔW_i =
 * s_i·B_i·A_i}. The new adapter has scaling 1.
 */
public enum CombinationType {

    /**
     * PEFT's {@code linear}: {@code A = Σ sign(w_i·s_i)·√|w_i·s_i|·A_i}, {@code B = Σ
     * √|w_i·s_i|·B_i}. All ranks on a layer must be equal; the rank stays. This mixes the factors,
     * so {@code B·A} contains cross terms {@code B_i·A_j} and is <em>not</em> {@code Σ w_i·ΔW_i}
     * (except for a single adapter).
     */
    LINEAR,

    /**
     * PEFT's {@code cat}: {@code A} stacks the rows {@code w_i·s_i·A_i}, {@code B} the columns
     * {@code B_i}; the rank is {@code Σ r_i} and {@code B·A = Σ w_i·ΔW_i} exactly.
     */
    CAT,

    /**
     * PEFT's {@code svd}: the rank-{@code k} truncated SVD {@code U·S·Vᵀ} of {@code Σ w_i·ΔW_i},
     * with {@code B = U·S} and {@code A = Vᵀ}; the best rank-{@code k} approximation (exact when
     * {@code k ≥ Σ r_i}). The SVD is computed through QR factors of the stacked factors and an SVD
     * of the small {@code Σr_i × Σr_i} core, never on the full {@code out × in} matrix.
     *
     * <p>Difference from PEFT: PEFT's source weights each {@code get_delta_weight(i)}, which
     * already includes {@code s_i}, by {@code w_i·s_i}, so it decomposes {@code Σ w_i·s_i·ΔW_i};
     * lora4j decomposes {@code Σ w_i·ΔW_i}, so that SVD at full rank equals {@link #CAT} and a
     * single adapter with weight 1 is reproduced.
     */
    SVD
}
