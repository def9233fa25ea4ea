package dev.lora4j.pipeline;

import dev.lora4j.api.TrainingListener;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Map;

/**
 * A complete fine-tune of one model on one dataset: load the pretrained model, put adapters on it
 * (or train only a head, or every weight), train with a progress bar, evaluate, save the adapter in
 * PEFT's layout, merge and check merged against unmerged, draw the curves.
 *
 * <p>Jobs are found with {@link java.util.ServiceLoader} (list the class in {@code
 * META-INF/services/dev.lora4j.pipeline.FineTuneJob}); {@link FineTuneJobs} looks them up by name,
 * and the {@code lora4j finetune --model <name>} command and {@code LoraDsl.finetune} run them. An
 * implementation needs a public no-argument constructor.
 */
public interface FineTuneJob {

    /** The name that selects this job, e.g. {@code minilm-genres}: lower case, digits and dashes. */
    String name();

    /** One line on the model and the data. */
    String description();

    /**
     * The job's settings for {@code mode} when the user changes nothing (the learning rate, for one,
     * usually depends on the mode).
     */
    FineTuneOptions defaults(FineTuneMode mode);

    /**
     * The job-specific parameters it accepts in {@link FineTuneOptions#parameters()}, name to a
     * one-line description; any other name is an error.
     */
    default Map<String, String> parameters() {
        return Map.of();
    }

    /**
     * Runs the job.
     *
     * @param progress receives every training step and evaluation (e.g. a console progress bar)
     * @param out where the job reports its stages
     * @throws IllegalArgumentException when {@code options} do not suit this job (a target module
     *     the model lacks, an unknown parameter)
     * @throws IOException when reading data or writing outputs fails
     */
    FineTuneReport run(FineTuneOptions options, TrainingListener progress, PrintStream out) throws IOException;
}
