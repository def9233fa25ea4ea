package dev.lora4j.cli;

import dev.lora4j.cli.internal.Errors;
import dev.lora4j.cli.internal.SettingOptions;
import dev.lora4j.cli.internal.WriterPrintStream;
import dev.lora4j.dsl.FineTuneSpec;
import dev.lora4j.guice.Lora4j;
import dev.lora4j.pipeline.FineTuneJob;
import dev.lora4j.pipeline.FineTuneJobs;
import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.pipeline.FineTuneReport;
import dev.lora4j.pipeline.FineTuneRunner;
import dev.lora4j.pipeline.FineTuneVariant;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lora4j finetune --model <job> [options]}: runs a {@link FineTuneJob} found on the class
 * path (the samples module provides {@code minilm-genres} and {@code fashion-cnn}). Options left out
 * keep the job's defaults for the chosen mode.
 */
@Command(name = "finetune", modelTransformer = SettingOptions.class,
        mixinStandardHelpOptions = true,
        description = {
            "Fine-tunes a pretrained model: adapters (or a head, or every weight), training with a progress bar,"
                    + " evaluation, the adapter saved in PEFT's layout, a merge check, curves as a PNG.",
            "",
            "Jobs come from the class path (--list shows them); options left out keep the job's defaults.",
            ""},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:usage error", "2:bad input (unknown job, option the job cannot use)",
            "3:I/O error", "4:internal error"})
public final class FinetuneCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "<job>", description = "the job to run (see --list)")
    @Nullable String model;

    @Option(names = "--list", description = "list the jobs on the class path and exit")
    boolean list;

    @Option(names = "--mode", paramLabel = "lora|dora|head|full", description = "what trains (default: lora)")
    @Nullable String mode;

    @Option(names = "--spark", paramLabel = "<master>",
            description = "train on Apache Spark with this master URL, e.g. local[2] (jobs that support it;"
                    + " Spark must be on the class path)")
    @Nullable String spark;

    @Option(names = "--param", paramLabel = "<name=value>", description = "a job-specific setting (see --list)")
    Map<String, String> parameters = new LinkedHashMap<>();

    @Option(names = "--variants", paramLabel = "<variant>", split = ",",
            description = "compare several ways of fine-tuning the job, each run in full with its own output"
                    + " subdirectory and a table at the end: head, full, lora<rank> (alpha scaled with the rank),"
                    + " lora<rank>:<alpha>; e.g. head,lora4,lora8:16,full")
    List<String> variants = new ArrayList<>();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter printer = spec.commandLine().getOut();
        if (list) {
            printJobs(printer);
            return ExitCodes.OK;
        }
        if (model == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "name a job with --model (see --list)");
        }
        FineTuneJob<?, ?> job;
        FineTuneOptions options;
        List<FineTuneVariant> sweep;
        try {
            job = FineTuneJobs.named(model);
            options = options(job);
            sweep = FineTuneVariant.parseList(variants);
        } catch (IllegalArgumentException e) {
            throw new Errors.UserError(e.getMessage());
        }
        PrintStream out = new WriterPrintStream(printer);
        FineTuneRunner runner = Lora4j.injector().getInstance(FineTuneRunner.class);
        List<FineTuneReport> reports = new ArrayList<>();
        try {
            if (sweep.isEmpty()) {
                reports.add(runner.run(job, options, out));
            } else {
                for (FineTuneVariant variant : sweep) {
                    out.println("######## " + variant.name() + " ########");
                    reports.add(runner.run(job, variant.apply(options, job), out));
                }
            }
        } catch (IllegalArgumentException e) {
            throw new Errors.UserError(model + ": " + e.getMessage());
        }
        out.println();
        if (sweep.isEmpty()) {
            out.print(reports.get(0).table());
        } else {
            out.print(FineTuneReport.comparison(reports));
        }
        out.flush();
        return ExitCodes.OK;
    }

    /** The job's defaults for the chosen mode, with every option given on the command line. */
    FineTuneOptions options(FineTuneJob<?, ?> job) {
        FineTuneSpec given = new FineTuneSpec();
        if (mode != null) {
            given.setMode(FineTuneMode.parse(mode));
        }
        SettingOptions.giveTo(spec.commandLine().getParseResult(), given);
        parameters.forEach(given::param);
        if (spark != null) {
            given.param(FineTuneOptions.SPARK, spark);
        }
        return given.toOptions(job);
    }

    private static void printJobs(PrintWriter printer) {
        List<FineTuneJob<?, ?>> jobs = FineTuneJobs.available();
        if (jobs.isEmpty()) {
            printer.println("no fine-tuning jobs on the class path (the lora4j-samples module provides some)");
        }
        for (FineTuneJob<?, ?> job : jobs) {
            FineTuneOptions d = job.defaults(FineTuneMode.LORA);
            printer.printf("%s  %s%n    defaults: %s, %d epochs, batch %d, lr %s, output %s%n", job.name(),
                    job.description(), d.describe(), d.epochs(), d.batchSize(), d.learningRate(), d.outputDir());
            job.parameters().forEach((name, help) -> printer.printf("    --param %s=...  %s%n", name, help));
        }
        printer.flush();
    }
}
