package dev.lora4j.pipeline;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/** The {@link FineTuneJob}s on the class path. */
public final class FineTuneJobs {

    private FineTuneJobs() {}

    /** Every job found by {@link ServiceLoader}, sorted by name. */
    public static List<FineTuneJob<?, ?>> available() {
        List<FineTuneJob<?, ?>> jobs = new ArrayList<>();
        for (FineTuneJob<?, ?> job : ServiceLoader.load(FineTuneJob.class, classLoader())) {
            jobs.add(job);
        }
        jobs.sort(Comparator.comparing(job -> job.name()));
        return jobs;
    }

    /**
     * The job called {@code name}.
     *
     * @throws IllegalArgumentException listing the available jobs when none has that name
     */
    public static FineTuneJob<?, ?> named(String name) {
        List<FineTuneJob<?, ?>> jobs = available();
        for (FineTuneJob<?, ?> job : jobs) {
            if (job.name().equals(name)) {
                return job;
            }
        }
        if (jobs.isEmpty()) {
            throw new IllegalArgumentException("no fine-tuning job '" + name + "': no job is on the class path"
                    + " (the lora4j-samples module provides minilm-genres and fashion-cnn)");
        }
        throw new IllegalArgumentException("no fine-tuning job '" + name + "'; available: "
                + jobs.stream().map(job -> job.name()).collect(Collectors.joining(", ")));
    }

    /**
     * Checks {@code options}' job-specific parameters against those {@code job} knows.
     *
     * @throws IllegalArgumentException naming the first unknown parameter and listing the known ones
     */
    public static void checkParameters(FineTuneJob<?, ?> job, FineTuneOptions options) {
        for (String name : options.parameters().keySet()) {
            if (!job.parameters().containsKey(name)) {
                throw new IllegalArgumentException("job " + job.name() + " has no parameter '" + name + "'"
                        + (job.parameters().isEmpty() ? "; it takes none" : "; known: "
                                + String.join(", ", job.parameters().keySet())));
            }
        }
    }

    private static ClassLoader classLoader() {
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        return context != null ? context : FineTuneJobs.class.getClassLoader();
    }
}
