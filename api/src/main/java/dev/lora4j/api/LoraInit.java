package dev.lora4j.api;

/** How a new adapter's matrices are initialised. */
public enum LoraInit {
    /**
     * PEFT's default: A Kaiming-uniform with a=√5 (uniform in ±1/√in), B zeros, so the adapted
     * layer starts equal to the base layer. For embeddings A is zeros and B standard normal.
     */
    KAIMING_UNIFORM,
    /** A Gaussian with standard deviation 1/r, B zeros (PEFT's {@code init_lora_weights="gaussian"}). */
    GAUSSIAN,
    /**
     * Both A and B random, so the adapter changes the output from the start (PEFT's
     * {@code init_lora_weights=False}); meant for tests of merging and saving.
     */
    RANDOM,
    /**
     * PiSSA (PEFT's {@code init_lora_weights="pissa"}, arXiv 2404.02948): with the singular value
     * decomposition {@code W = U·S·Vᵀ} of the base weight and {@code s} the adapter's scaling, {@code
     * A = diag(√(S_r/s))·V_rᵀ} and {@code B = U_r·diag(√(S_r/s))} from the {@code r} largest singular
     * values, and the base weight becomes the residual {@code W − s·B·A}, so the layer's output is
     * unchanged at the start. The SVD is exact unless a number of subspace iterations is given
     * ({@code pissa_niter_N}: a randomized SVD, as PEFT's {@code torch.svd_lowrank}). Linear layers
     * only; the base weight is changed.
     */
    PISSA,
    /**
     * OLoRA (PEFT's {@code init_lora_weights="olora"}, arXiv 2406.01775): with the QR decomposition
     * {@code W = Q·R} of the base weight, {@code B} the first {@code r} columns of {@code Q}, {@code A}
     * the first {@code r} rows of {@code R}, and the base weight becomes the residual {@code W −
     * s·B·A}, so the layer's output is unchanged at the start. Linear layers only (not
     * fan-in-fan-out ones); the base weight is changed.
     */
    OLORA;

    /**
     * Whether this initialisation moves part of the base weight into the adapter and leaves the
     * residual in the base ({@link #PISSA}, {@link #OLORA}).
     */
    public boolean changesBaseWeight() {
        return this == PISSA || this == OLORA;
    }
}
