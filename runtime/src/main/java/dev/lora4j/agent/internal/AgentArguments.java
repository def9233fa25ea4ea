package dev.lora4j.agent.internal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent's argument, the text after {@code =} in {@code -javaagent:lora4j.jar=...}: options
 * {@code key=value} separated by commas. The one key is {@code config}, a target-spec file (relative
 * paths resolve against the working directory); it may repeat:
 * {@code -javaagent:lora4j.jar=config=encoder.json,config=decoder.json}.
 *
 * @param configs the target-spec files, in order
 */
public record AgentArguments(List<Path> configs) {

    /** The option naming a target-spec file. */
    public static final String CONFIG = "config";

    /** Copies the list. */
    public AgentArguments {
        configs = List.copyOf(configs);
    }

    /**
     * Parses the agent argument; {@code null} or blank means no options.
     *
     * @throws IllegalArgumentException in one line naming the bad option
     */
    public static AgentArguments parse(String arguments) {
        List<Path> configs = new ArrayList<>();
        if (arguments == null || arguments.isBlank()) {
            return new AgentArguments(configs);
        }
        for (String option : arguments.split(",")) {
            String trimmed = option.strip();
            if (trimmed.isEmpty()) {
                continue;
            }
            int eq = trimmed.indexOf('=');
            String key = eq < 0 ? trimmed : trimmed.substring(0, eq).strip();
            String value = eq < 0 ? "" : trimmed.substring(eq + 1).strip();
            if (!key.equals(CONFIG)) {
                throw new IllegalArgumentException("unknown agent option '" + key + "' in '" + arguments
                        + "'; the agent takes config=<target spec .json>[,config=<another .json>]");
            }
            if (value.isEmpty()) {
                throw new IllegalArgumentException("agent option 'config' needs a file: config=<target spec .json>");
            }
            configs.add(Path.of(value));
        }
        return new AgentArguments(configs);
    }
}
