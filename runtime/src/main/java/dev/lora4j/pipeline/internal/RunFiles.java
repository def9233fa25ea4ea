package dev.lora4j.pipeline.internal;

import dev.lora4j.train.LossHistory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** A fine-tune's history in its output directory: {@code steps.csv}, {@code evaluations.csv}, {@code curve.png}. */
public final class RunFiles {

    /** The curves' file name. */
    public static final String CURVE = "curve.png";

    private RunFiles() {}

    /**
     * Writes the three files into {@code dir} (created if needed) and returns the curve's path.
     *
     * @throws IOException naming the file that could not be written
     */
    public static Path write(LossHistory history, String title, Path dir) throws IOException {
        Files.createDirectories(dir);
        write(dir.resolve("steps.csv"), history.stepsCsv());
        write(dir.resolve("evaluations.csv"), history.evaluationsCsv());
        return TrainingCurve.write(history, title, dir.resolve(CURVE));
    }

    private static void write(Path file, String text) throws IOException {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
