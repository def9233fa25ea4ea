package dev.lora4j.cli;

/** The exit codes of the {@code lora4j} command, as listed in its {@code --help}. */
public final class ExitCodes {

    /** Success. */
    public static final int OK = 0;
    /** Wrong command line: unknown option, missing or malformed argument. */
    public static final int USAGE = 1;
    /** Bad input: a missing file, malformed safetensors or config, an adapter that does not fit the base. */
    public static final int BAD_INPUT = 2;
    /** Reading or writing failed. */
    public static final int IO_ERROR = 3;
    /** A bug in lora4j (printed with its stack trace). */
    public static final int INTERNAL_ERROR = 4;

    private ExitCodes() {}
}
