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
    /** Every weight of the network and the head. */
    FULL("full");

    private final String optionName;

    FineTuneMode(String optionName) {
        this.optionName = optionName;
    }

    /** The name used on the command line: {@code head}, {@code lora} or {@code full}. */
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
