package dev.lora4j.cli.internal;

import dev.lora4j.cli.ExitCodes;
import dev.lora4j.io.AdapterException;
import dev.lora4j.io.PeftConfigException;
import dev.lora4j.io.SafetensorsException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/** Turns exceptions into the tool's exit codes and one-line messages. */
public final class Errors {

    private Errors() {}

    /** The exit code for {@code e}. */
    public static int exitCode(Throwable e) {
        Throwable t = unwrap(e);
        if (t instanceof AdapterException || t instanceof SafetensorsException || t instanceof PeftConfigException
                || t instanceof NoSuchFileException || t instanceof UserError) {
            return ExitCodes.BAD_INPUT;
        }
        if (t instanceof IOException) {
            return ExitCodes.IO_ERROR;
        }
        return ExitCodes.INTERNAL_ERROR;
    }

    /** A one-line description of {@code e} for stderr. */
    public static String describe(Throwable e) {
        Throwable t = unwrap(e);
        if (t instanceof NoSuchFileException n) {
            return "no such file or directory: " + n.getFile();
        }
        if (t instanceof AccessDeniedException a) {
            return "permission denied: " + a.getFile();
        }
        if (t instanceof FileSystemException f) {
            return oneLine(f.getFile() + ": " + (f.getReason() == null ? f.getClass().getSimpleName() : f.getReason()));
        }
        String message = t.getMessage();
        if (exitCode(t) == ExitCodes.INTERNAL_ERROR || message == null || message.isBlank()) {
            return oneLine(t.getClass().getName() + (message == null ? "" : ": " + message));
        }
        return oneLine(message);
    }

    /** The first line of {@code text}. */
    public static String oneLine(String text) {
        if (text == null) {
            return "";
        }
        String trimmed = text.strip();
        int nl = trimmed.indexOf('\n');
        return nl < 0 ? trimmed : trimmed.substring(0, nl).strip();
    }

    private static Throwable unwrap(Throwable e) {
        Throwable t = e;
        while (t instanceof UncheckedIOException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** A user mistake found by a command itself (e.g. a directory without an adapter). */
    public static final class UserError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        /** An error with a one-line message. */
        public UserError(String message) {
            super(message);
        }
    }
}
