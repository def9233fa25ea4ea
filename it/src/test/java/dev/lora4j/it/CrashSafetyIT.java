package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.lora4j.Lora;
import dev.lora4j.io.AdapterFiles;
import dev.lora4j.io.DType;
import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.SafetensorsHeader;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.io.TargetModules;
import dev.lora4j.io.CheckpointMerger;
import dev.lora4j.it.crash.CrashWorkload;
import dev.lora4j.lora.LoraModel;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * kill -9 at random moments while a child JVM (the shaded -all jar) saves an adapter
 * ({@link Lora#save}) and writes a merged checkpoint ({@link CheckpointMerger}) in a loop.
 * After every kill: the adapter directory loads, strictly, and holds one complete generation (every
 * A = g, every B = g + 0.5); the merged file passes the strict reader and equals, byte for byte, one
 * of the two complete merges; the temporary and staged files a killed write leaves are at most
 * those of the one write it interrupted, and the next save removes them. {@code lora4j.crash.kills}
 * kills (20 by default).
 */
class CrashSafetyIT {

    private static final Path ALL = Path.of(System.getProperty("lora4j.all.jar"));

    @TempDir
    Path root;

    @Test
    void killedMidWriteTheDestinationsHoldTheOldOrTheNewFileComplete() throws Exception {
        int kills = Integer.getInteger("lora4j.crash.kills", 20);
        byte[][] merges = prepare();
        Random random = new Random(42);
        long generation = 1;
        int midWrite = 0;
        long maxStale = 0;
        List<Long> seen = new ArrayList<>();
        for (int k = 0; k < kills; k++) {
            Process child = start(generation, 0);
            AtomicLong lastSaved = new AtomicLong(-1);
            Thread reader = follow(child, lastSaved);
            long delay = 20 + random.nextInt(600);
            Thread.sleep(delay);
            child.destroyForcibly(); // SIGKILL
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            reader.join(5000);
            long stale = staleFiles();
            maxStale = Math.max(maxStale, stale);
            if (stale > 0) {
                midWrite++;
            }
            assertTrue(stale <= 4, "a killed write leaves at most its own 2 staged + 2 temporary files, found "
                    + stale + ": " + hidden());
            long g = checkAdapter();
            checkMerged(merges);
            seen.add(g);
            generation = Math.max(generation, lastSaved.get() + 1) + 1;
        }
        // one clean run: the next save removes what the kills left
        Process clean = start(generation, 1);
        follow(clean, new AtomicLong()).join(120_000);
        assertTrue(clean.waitFor(2, TimeUnit.MINUTES));
        assertEquals(0, clean.exitValue());
        assertEquals(0, staleFiles(), "the next save cleaned up: " + hidden());
        assertEquals(generation, checkAdapter());
        System.out.println("[crash] " + kills + " SIGKILLs of a child JVM saving an adapter and merging a checkpoint; "
                + midWrite + " left temporary files (killed mid-write, at most " + maxStale + " at once); adapter"
                + " generations found after the kills: " + seen + "; every file complete and strictly readable");
    }

    private byte[][] prepare() throws IOException {
        // the base checkpoint (4 MiB fc.weight, so merges take a while) and two adapters to merge
        Nd4j.getRandom().setSeed(3);
        SafetensorsHeader plan = SafetensorsHeader.builder().metadata("format", "pt")
                .tensor("fc.weight", DType.F32, 1024, 1024).tensor("fc.bias", DType.F32, 1024).build();
        try (SafetensorsWriter w = SafetensorsWriter.open(root.resolve("base.safetensors"), plan)) {
            w.write("fc.weight", Nd4j.rand(DataType.FLOAT, 1024, 1024));
            w.write("fc.bias", Nd4j.zeros(DataType.FLOAT, 1024));
            w.commit();
        }
        byte[][] merged = new byte[2][];
        for (int i = 0; i < 2; i++) {
            Path dir = Files.createDirectories(root.resolve("source-" + i));
            PeftAdapterConfig.lora(4, 8, TargetModules.names("fc")).write(dir.resolve(PeftAdapterConfig.FILE_NAME));
            SafetensorsWriter.write(dir.resolve(AdapterFiles.WEIGHTS_FILE), Map.of(
                    "base_model.model.fc.lora_A.weight", Nd4j.valueArrayOf(new long[] {4, 1024}, 0.01 * (i + 1), DataType.FLOAT),
                    "base_model.model.fc.lora_B.weight", Nd4j.valueArrayOf(new long[] {1024, 4}, 0.02, DataType.FLOAT)),
                    Map.of("format", "pt"));
            Path out = root.resolve("expected-" + i + ".safetensors");
            CheckpointMerger.merge(root.resolve("base.safetensors"), dir, out);
            merged[i] = Files.readAllBytes(out);
            Files.delete(out);
        }
        return merged;
    }

    private Process start(long generation, long iterations) throws IOException, InterruptedException {
        String classes = new File(CrashWorkload.class.getProtectionDomain().getCodeSource().getLocation().getPath()).getPath();
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "-Xmx512m", "-cp", ALL + File.pathSeparator + classes,
                CrashWorkload.class.getName(), root.toString(), Long.toString(generation), Long.toString(iterations))
                .redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", "1");
        Process p = pb.start();
        // wait for the JVM and ND4J to be up, so the kill lands in the save/merge loop
        BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        long deadline = System.nanoTime() + 120_000_000_000L;
        String line;
        while ((line = in.readLine()) != null && !line.equals("ready")) {
            if (System.nanoTime() > deadline) {
                p.destroyForcibly();
                fail("the child did not start: " + line);
            }
        }
        if (line == null) {
            fail("the child exited before starting (exit " + p.waitFor() + ")");
        }
        readers.put(p, in);
        return p;
    }

    private final Map<Process, BufferedReader> readers = new java.util.HashMap<>();

    private Thread follow(Process p, AtomicLong lastSaved) {
        BufferedReader in = readers.remove(p);
        Thread t = new Thread(() -> {
            try {
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.startsWith("saved ")) {
                        lastSaved.set(Long.parseLong(line.substring(6)));
                    } else if (!line.startsWith("merged ")) {
                        System.out.println("[crash child] " + line);
                    }
                }
            } catch (IOException ignored) {
                // the process died
            }
        });
        t.start();
        return t;
    }

    /** The generation the adapter directory holds; fails unless it loads and is one complete generation. */
    private long checkAdapter() throws IOException {
        Path dir = root.resolve("adapter");
        if (!Files.exists(dir.resolve(AdapterFiles.WEIGHTS_FILE))) {
            assertTrue(!Files.exists(dir.resolve(PeftAdapterConfig.FILE_NAME)), "a config without weights");
            return 0; // killed before the first save completed
        }
        try (SafetensorsFile strict = SafetensorsFile.open(dir.resolve(AdapterFiles.WEIGHTS_FILE))) {
            assertEquals(4, strict.tensors().size());
        }
        LoraModel<CrashWorkload.Net> loaded = Lora.load(new CrashWorkload.Net(), dir);
        double g = Double.NaN;
        for (var layer : loaded.layers().values()) {
            var adapter = layer.adapter(LoraModel.DEFAULT_ADAPTER);
            double a = single(adapter.a().value());
            double b = single(adapter.b().value());
            assertEquals(a + 0.5, b, "A and B of one generation");
            if (Double.isNaN(g)) {
                g = a;
            }
            assertEquals(g, a, "every layer from the same generation");
        }
        return (long) g;
    }

    private static double single(INDArray values) {
        double min = values.minNumber().doubleValue();
        assertEquals(min, values.maxNumber().doubleValue(), "one value per factor");
        return min;
    }

    private void checkMerged(byte[][] merges) throws IOException {
        Path merged = root.resolve("merged.safetensors");
        if (!Files.exists(merged)) {
            return; // killed before the first merge completed
        }
        try (SafetensorsFile strict = SafetensorsFile.open(merged)) {
            assertEquals(2, strict.tensors().size());
        }
        byte[] bytes = Files.readAllBytes(merged);
        assertTrue(Arrays.equals(bytes, merges[0]) || Arrays.equals(bytes, merges[1]),
                "the merged file is one of the two complete merges");
    }

    private long staleFiles() throws IOException {
        return hidden().size();
    }

    private List<String> hidden() throws IOException {
        List<String> out = new ArrayList<>();
        for (Path dir : new Path[] {root, root.resolve("adapter")}) {
            if (Files.isDirectory(dir)) {
                try (var files = Files.list(dir)) {
                    files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).forEach(out::add);
                }
            }
        }
        return out;
    }
}
