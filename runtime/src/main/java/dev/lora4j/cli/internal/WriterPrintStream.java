package dev.lora4j.cli.internal;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/**
 * A {@link PrintStream} over a command's {@link PrintWriter}, for library code that reports to a
 * stream: bytes are decoded as UTF-8 a line at a time (and on flush) and written through.
 */
public final class WriterPrintStream extends PrintStream {

    /** A stream writing into {@code writer}. */
    public WriterPrintStream(PrintWriter writer) {
        super(new LineDecoder(writer), true, StandardCharsets.UTF_8);
    }

    private static final class LineDecoder extends OutputStream {
        private final PrintWriter writer;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        LineDecoder(PrintWriter writer) {
            this.writer = writer;
        }

        @Override
        public void write(int b) {
            line.write(b);
            if (b == '\n') {
                flush();
            }
        }

        @Override
        public void flush() {
            if (line.size() > 0) {
                writer.write(line.toString(StandardCharsets.UTF_8));
                line.reset();
            }
            writer.flush();
        }
    }
}
