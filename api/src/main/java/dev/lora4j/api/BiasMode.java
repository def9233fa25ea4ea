package dev.lora4j.api;

/** Which biases train alongside the adapters (PEFT's {@code bias} setting). */
public enum BiasMode {
    /** No bias trains. */
    NONE("none"),
    /** Every bias in the model trains. */
    ALL("all"),
    /** Only the biases of adapted layers train. */
    LORA_ONLY("lora_only");

    private final String peftName;

    BiasMode(String peftName) {
        this.peftName = peftName;
    }

    /** The value PEFT writes in {@code adapter_config.json}. */
    public String peftName() {
        return peftName;
    }

    /** Parses PEFT's spelling ({@code none}, {@code all}, {@code lora_only}). */
    public static BiasMode fromPeftName(String name) {
        for (BiasMode mode : values()) {
            if (mode.peftName.equals(name)) {
                return mode;
            }
        }
        throw new IllegalArgumentException(
                "unknown bias mode '" + name + "'; expected one of none, all, lora_only");
    }
}
