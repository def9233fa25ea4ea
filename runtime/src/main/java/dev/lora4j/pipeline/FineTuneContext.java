package dev.lora4j.pipeline;

import dev.lora4j.train.Trainer;
import java.io.PrintStream;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What a {@link FineTuneJob} gets from the {@link FineTuneRunner} while it runs: the options, the
 * bound trainer (for a job that pretrains its model first), where to report stages, and the
 * report's job-specific lines.
 */
public final class FineTuneContext {

    private final FineTuneOptions options;
    private final Trainer trainer;
    private final PrintStream out;
    private final Map<String, String> details = new LinkedHashMap<>();

    FineTuneContext(FineTuneOptions options, Trainer trainer, PrintStream out) {
        this.options = Objects.requireNonNull(options, "options");
        this.trainer = Objects.requireNonNull(trainer, "trainer");
        this.out = Objects.requireNonNull(out, "out");
    }

    /** The options of this run. */
    public FineTuneOptions options() {
        return options;
    }

    /**
     * The trainer bound in Guice (optimizer, schedules, listeners), with the default configuration:
     * give it the job's with {@link Trainer#withConfig}.
     */
    public Trainer trainer() {
        return trainer;
    }

    /** Where the job reports its stages. */
    public PrintStream out() {
        return out;
    }

    /** Adds a line to the report's table (replacing one of the same name). */
    public void detail(String name, String value) {
        details.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
    }

    /** The lines added so far, in order. */
    Map<String, String> details() {
        return Collections.unmodifiableMap(details);
    }
}
