package dev.lora4j.cli;

import dev.lora4j.cli.internal.Errors;
import dev.lora4j.cli.internal.ProcessDefaults;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code lora4j} command-line tool, the all-in-one jar's main class: {@code java -jar
 * lora4j-runtime-<version>-all.jar <command>}. Commands: {@code inspect} (an adapter directory), {@code merge}
 * (an adapter into a base safetensors checkpoint) and {@code finetune} (a {@link
 * dev.lora4j.pipeline.FineTuneJob} on the class path). Errors print one line on stderr, without a
 * stack trace, and exit with the codes in {@link ExitCodes}.
 */
@Command(name = "lora4j",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "LoRA adapters in PEFT's format: inspect them, merge them into safetensors checkpoints, fine-tune models.",
        subcommands = {InspectCommand.class, MergeCommand.class, FinetuneCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:success",
            "1:usage error (unknown option, missing or malformed argument)",
            "2:bad input (missing file, malformed safetensors or adapter_config.json, adapter that does not fit)",
            "3:I/O error while reading or writing",
            "4:internal error (a bug; printed with its stack trace)"})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /**
     * Runs the tool and exits the JVM with its exit code; first applies the {@linkplain
     * ProcessDefaults process defaults}, so call it before anything in the process loads ND4J.
     */
    public static void main(String[] args) {
        ProcessDefaults.apply();
        System.exit(commandLine().execute(args));
    }

    /**
     * The configured command line (error handlers, exit codes); tests run it in-process with
     * {@link CommandLine#setOut} / {@link CommandLine#setErr} and {@link CommandLine#execute}.
     */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setParameterExceptionHandler((e, args) -> {
            PrintWriter err = e.getCommandLine().getErr();
            err.println("lora4j: " + Errors.oneLine(e.getMessage()) + " (see '"
                    + e.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
            err.flush();
            return ExitCodes.USAGE;
        });
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            int code = Errors.exitCode(e);
            err.println("lora4j: " + Errors.describe(e));
            if (code == ExitCodes.INTERNAL_ERROR) {
                e.printStackTrace(err);
            }
            err.flush();
            return code;
        });
        return cli;
    }

    /** Without a command: prints the usage and fails as a usage error. */
    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a command: inspect, merge or finetune");
    }

    /** The version from the jar manifest, when packaged. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"lora4j " + (version == null ? "(development build)" : version)};
        }
    }
}
