package dev.lora4j.cli.internal;

import java.io.OutputStream;
import java.io.PrintStream;

/**
 * Keeps the tool's stderr to its own one-line messages: ND4J logs through SLF4J 1.7, which prints
 * a three-line "no binding" notice to {@code System.err} the first time it is used when no logging
 * backend is on the class path. The tool initialises SLF4J once at start-up with {@code System.err}
 * silenced. With a backend present nothing changes; without SLF4J nothing happens.
 */
public final class QuietLogging {

    private QuietLogging() {}

    /** Initialises SLF4J (if present) with {@code System.err} silenced. */
    public static void init() {
        PrintStream err = System.err;
        try {
            System.setErr(new PrintStream(OutputStream.nullOutputStream()));
            Class.forName("org.slf4j.LoggerFactory").getMethod("getILoggerFactory").invoke(null);
        } catch (ReflectiveOperationException | LinkageError e) {
            // no SLF4J: nothing to silence
        } finally {
            System.setErr(err);
        }
    }
}
