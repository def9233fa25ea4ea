package dev.lora4j.cli;

import dev.lora4j.api.TrainingListener;
import dev.lora4j.pipeline.FineTuneJob;
import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.pipeline.FineTuneReport;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A fine-tuning job for the {@code finetune} command's tests, registered in this module's test
 * {@code META-INF/services}: it records the options it was given and reports them back.
 */
public final class RecordingJob implements FineTuneJob {

    /** The options of the last run. */
    static volatile FineTuneOptions lastOptions;

    @Override
    public String name() {
        return "recording";
    }

    @Override
    public String description() {
        return "records its options (tests)";
    }

    @Override
    public FineTuneOptions defaults(FineTuneMode mode) {
        return new FineTuneOptions(mode, 8, 16, List.of("query", "value"), true, 3, Long.MAX_VALUE, 32,
                mode == FineTuneMode.FULL ? 5e-5 : 1e-3, 1, 0, 42, Path.of("target", "recording"), Map.of());
    }

    @Override
    public Map<String, String> parameters() {
        return Map.of("max-length", "tokens per example", "fail", "throw this message as a bad option");
    }

    @Override
    public FineTuneReport run(FineTuneOptions options, TrainingListener progress, PrintStream out) {
        lastOptions = options;
        if (options.parameters().containsKey("fail")) {
            throw new IllegalArgumentException(options.parameters().get("fail"));
        }
        out.println("== recording job ran: " + options.describe());
        return new FineTuneReport(name(), options, 100, 1000, 7, "epochs done", 0.5, 0.625,
                new FineTuneReport.MergeCheck(0.625, 1.0, 1e-6), Duration.ofSeconds(3), Duration.ofSeconds(65),
                null, null, Map.of("max length", String.valueOf(options.intParameter("max-length", 64))));
    }
}
