package dev.lora4j.pipeline;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** What a {@link FineTuneJob} trains. */
public enum FineTuneMode {
    /** The pretrained network frozen; only a new head trains (a linear probe). */
    HEAD_ONLY("head"),
    /** LoRA adapters on the target modules, plus the new head ({@code modules_to_save}). */
    LORA("lora"),
    /**
     * DoRA adapters (LoRA with a trained magnitude per output feature, PEFT's {@code use_dora}) on
     * the target modules, plus the new head.
     */
    DORA("dora"),
    /** Every weight of the network and the head. */
    FULL("full");

    private final String optionName;

    FineTuneMode(String optionName) {
        this.optionName = optionName;
    }

    /** Whether adapters train in this mode (LoRA or DoRA), so that rank, alpha and targets apply. */
    public boolean trainsAdapters() {
        return this == LORA || this == DORA;
    }

    /** The name used on the command line: {@code head}, {@code lora}, {@code dora} or {@code full}. */
    public String optionName() {
        return optionName;
    }

    /**
     * The mode whose {@link #optionName()} is {@code name} (case-insensitive).
     *
     * @throws IllegalArgumentException naming the valid modes
     */
    public static FineTuneMode parse(String name) {
        for (FineTuneMode mode : values()) {
            if (mode.optionName.equals(name.toLowerCase(Locale.ROOT))) {
                return mode;
            }
        }
        throw new IllegalArgumentException("unknown mode '" + name + "'; choose one of "
                + Arrays.stream(values()).map(FineTuneMode::optionName).collect(Collectors.joining(", ")));
    }
}
