package dev.lora4j.io.internal;

import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Writes one adapter directory ({@code adapter_model.safetensors} + {@code adapter_config.json})
 * so that a failure leaves the previous adapter intact: both files are first written completely
 * to hidden staged files in the same directory (each forced to disk), and only then renamed over
 * the old ones, weights first. A failure before the renames removes the staged files and changes
 * nothing. The two renames are each atomic but not atomic together: a crash exactly between them
 * leaves the new weights with the old config. Staged files left by a killed save are deleted at the
 * start of the next save into the same directory (one saver per directory at a time).
 */
public final class AdapterDirectoryWriter {

    /** Test hook called before each step ({@code weights}, {@code config}, {@code commit}). */
    @FunctionalInterface
    public interface Checkpoint {
        /** Called before {@code step}; throwing aborts the write. */
        void reached(String step) throws IOException;

        /** No hook. */
        Checkpoint NONE = step -> { };
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private AdapterDirectoryWriter() {}

    /** Writes {@code config} and {@code tensors} (with {@code metadata}) into {@code dir}, creating it. */
    public static void write(Path dir, PeftAdapterConfig config, Map<String, INDArray> tensors,
            Map<String, String> metadata, Checkpoint checkpoint) throws IOException {
        Files.createDirectories(dir);
        for (String file : new String[] {AdapterLoadPlan.WEIGHTS_FILE, PeftAdapterConfig.FILE_NAME}) {
            // leftovers of a save that was killed: staged files and their writers' temporary files
            AtomicFile.deleteStale(dir, "." + file + ".staged-");
            AtomicFile.deleteStale(dir, ".." + file + ".staged-");
        }
        String tag = Long.toUnsignedString(RANDOM.nextLong(), 36);
        Path weights = dir.resolve(AdapterLoadPlan.WEIGHTS_FILE);
        Path json = dir.resolve(PeftAdapterConfig.FILE_NAME);
        Path stagedWeights = dir.resolve("." + AdapterLoadPlan.WEIGHTS_FILE + ".staged-" + tag);
        Path stagedJson = dir.resolve("." + PeftAdapterConfig.FILE_NAME + ".staged-" + tag);
        try {
            checkpoint.reached("weights");
            SafetensorsWriter.write(stagedWeights, tensors, metadata);
            checkpoint.reached("config");
            config.write(stagedJson);
            checkpoint.reached("commit");
            Files.move(stagedWeights, weights, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            Files.move(stagedJson, json, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException | Error e) {
            for (Path staged : new Path[] {stagedWeights, stagedJson}) {
                try {
                    Files.deleteIfExists(staged);
                } catch (IOException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
        syncDirectory(dir);
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // best effort: the files themselves are already on disk
        }
    }
}
