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
    RANDOM
}
