package dev.lora4j.it.bench;

import dev.lora4j.io.DType;
import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.SafetensorsHeader;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.io.TargetModules;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The figures that need child JVMs: JVM start to first forward with and without the agent, and
 * the merge tool on a large checkpoint (heap capped at 512 MB) against copying the same file.
 */
public final class ProcessBenchmarks {

    /** A child JVM that takes longer than this is stopped and reported. */
    private static final int CHILD_TIMEOUT_MINUTES = 5;

    private ProcessBenchmarks() {}

    /**
     * A measured pair: the times of A and B, run alternately.
     *
     * @param name what was compared
     * @param a the times of A, ms, in run order
     * @param b the times of B, ms, in run order
     */
    public record Pair(String name, List<Double> a, List<Double> b) {
        /** Runs of each. */
        public int runs() {
            return a.size();
        }

        /** Median of A, ms. */
        public double medianA() {
            return median(a);
        }

        /** Median of B, ms. */
        public double medianB() {
            return median(b);
        }

        /** median(A) ÷ median(B). */
        public double ratio() {
            return medianA() / medianB();
        }

        /** The ratio of each run's A to the same run's B, sorted: the spread of {@link #ratio()}. */
        public double[] runRatios() {
            double[] r = new double[a.size()];
            for (int i = 0; i < r.length; i++) {
                r[i] = a.get(i) / b.get(i);
            }
            java.util.Arrays.sort(r);
            return r;
        }

        /** One line for a log. */
        public String line() {
            double[] r = runRatios();
            return String.format(Locale.ROOT, "%s: ratio %.3f (per run %.2f–%.2f), difference %.0f ms (A %.0f ms, B %.0f ms,"
                    + " median of %d)", name, ratio(), r[0], r[r.length - 1], medianA() - medianB(), medianA(), medianB(), runs());
        }

        /** As JSON. */
        public String json() {
            double[] r = runRatios();
            return String.format(Locale.ROOT, "{\"name\": \"%s\", \"runs\": %d, \"median_a_ms\": %.1f, \"median_b_ms\": %.1f, "
                    + "\"ratio\": %.4f, \"run_ratio_min\": %.4f, \"run_ratio_max\": %.4f}", name, runs(), medianA(), medianB(),
                    ratio(), r[0], r[r.length - 1]);
        }
    }

    /** The shaded runtime jar, found next to this module. */
    static Path allJar() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("..", "runtime", "target"))) {
            return files.filter(p -> p.getFileName().toString().endsWith("-all.jar")).findFirst()
                    .orElseThrow(() -> new IOException("no runtime/target/*-all.jar: run mvn install first"));
        }
    }

    static Path samplesJar() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("..", "samples", "target"))) {
            return files.filter(p -> p.getFileName().toString().matches("lora4j-samples-.*\\d(-SNAPSHOT)?\\.jar"))
                    .findFirst().orElseThrow(() -> new IOException("no samples jar in samples/target: run mvn install first"));
        }
    }

    /** JVM start to first forward, with {@code -javaagent} ÷ without (the same classpath otherwise). */
    public static Pair startup(int runs) throws IOException, InterruptedException {
        Path all = allJar().toAbsolutePath();
        String classpath = String.join(File.pathSeparator, all.toString(), samplesJar().toAbsolutePath().toString(),
                Path.of("target", "test-classes").toAbsolutePath().toString());
        List<Double> with = new ArrayList<>();
        List<Double> without = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            with.add(firstForward(List.of("-javaagent:" + all), classpath));
            without.add(firstForward(List.of(), classpath));
        }
        return new Pair("JVM start to first forward: with -javaagent / without", with, without);
    }

    private static double firstForward(List<String> jvmArgs, String classpath) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(javaBinary(), "-Xmx1g"));
        command.addAll(jvmArgs);
        command.addAll(List.of("-cp", classpath, FirstForward.class.getName()));
        String output = run(command);
        for (String line : output.split("\n")) {
            if (line.startsWith("first-forward-ms ")) {
                return Double.parseDouble(line.substring("first-forward-ms ".length()).trim());
            }
        }
        throw new IOException("no first-forward-ms line in: " + output);
    }

    /**
     * The merge CLI ({@code -Xmx512m}) on a synthetic checkpoint of {@code megabytes} MB ÷ copying
     * the file; both read the same, warm file and replace their previous output, as a user re-running
     * them would. With a {@code baselineJar} (another build's shaded runtime jar, e.g. the previous
     * release) its merge runs in the same rounds, so before and after are measured side by side.
     * Returned: merge ÷ copy (the target), merge ÷ durable copy (the copy forced to disk, as the
     * merge's atomic commit must be; a reference for how much of the merge is the disk), and with a
     * baseline its merge ÷ copy.
     */
    public static List<Pair> mergeVersusCopy(int megabytes, int runs, Path work, Path baselineJar)
            throws IOException, InterruptedException {
        Files.createDirectories(work);
        Path base = work.resolve("base.safetensors");
        Path adapter = work.resolve("adapter");
        int layers = writeCheckpoint(base, adapter, megabytes);
        Path merged = work.resolve("merged.safetensors");
        Path copy = work.resolve("copy.safetensors");
        Path durable = work.resolve("durable-copy.safetensors");
        List<String> merge = mergeCommand(allJar(), base, adapter, merged);
        List<String> baseline = baselineJar == null ? null : mergeCommand(baselineJar, base, adapter, merged);
        List<Double> mergeTimes = new ArrayList<>();
        List<Double> baselineTimes = new ArrayList<>();
        List<Double> copyTimes = new ArrayList<>();
        List<Double> durableTimes = new ArrayList<>();
        List<Double> baselineCopyTimes = new ArrayList<>();
        Files.copy(base, copy, StandardCopyOption.REPLACE_EXISTING); // warm the page cache
        for (int i = 0; i < runs; i++) {
            mergeTimes.add(timed(merge));
            copyTimes.add(timedCopy(base, copy));
            durableTimes.add(timedDurableCopy(base, durable));
            if (baseline != null) {
                baselineTimes.add(timed(baseline));
                baselineCopyTimes.add(timedCopy(base, copy));
            }
        }
        long size = Files.size(base);
        for (Path p : List.of(base, merged, copy, durable)) {
            Files.deleteIfExists(p);
        }
        String what = String.format(Locale.ROOT, "(-Xmx512m, %.2f GB float32 checkpoint, %d adapted layers) / file copy",
                size / 1e9, layers);
        List<Pair> pairs = new ArrayList<>();
        pairs.add(new Pair("merge tool " + what, mergeTimes, copyTimes));
        pairs.add(new Pair("merge tool " + what.replace("/ file copy", "/ file copy forced to disk (fsync)"), mergeTimes,
                durableTimes));
        if (baseline != null) {
            pairs.add(new Pair("merge tool of " + baselineJar.getFileName() + " " + what, baselineTimes, baselineCopyTimes));
        }
        return pairs;
    }

    private static List<String> mergeCommand(Path jar, Path base, Path adapter, Path out) {
        return List.of(javaBinary(), "-Xmx512m", "-jar", jar.toAbsolutePath().toString(), "merge",
                "--base", base.toString(), "--adapter", adapter.toString(), "--out", out.toString());
    }

    private static double timed(List<String> command) throws IOException, InterruptedException {
        long start = System.nanoTime();
        run(command);
        return (System.nanoTime() - start) / 1e6;
    }

    /** A copy as durable as the merge's commit: copied, then forced to disk. */
    private static double timedDurableCopy(Path from, Path to) throws IOException {
        long start = System.nanoTime();
        Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel channel = FileChannel.open(to, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        return (System.nanoTime() - start) / 1e6;
    }

    private static double timedCopy(Path from, Path to) throws IOException {
        long start = System.nanoTime();
        Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
        return (System.nanoTime() - start) / 1e6;
    }

    /** A checkpoint of 1024×1024 float32 layers and an r=8 adapter on every second one. */
    private static int writeCheckpoint(Path base, Path adapterDir, int megabytes) throws IOException {
        int layers = Math.max(2, megabytes / 4);
        SafetensorsHeader.Builder header = SafetensorsHeader.builder();
        for (int i = 0; i < layers; i++) {
            header.tensor("model.layers." + i + ".proj.weight", DType.F32, 1024, 1024);
        }
        Random random = new Random(5);
        ByteBuffer block = ByteBuffer.allocate(1024 * 1024 * 4).order(ByteOrder.LITTLE_ENDIAN);
        try (SafetensorsWriter writer = SafetensorsWriter.open(base, header.build())) {
            for (int i = 0; i < layers; i++) {
                block.clear();
                for (int j = 0; j < 1024 * 1024; j++) {
                    block.putFloat((float) (random.nextGaussian() * 0.02));
                }
                block.flip();
                writer.write(writer.nextTensor(), block);
            }
            writer.commit();
        }
        Files.createDirectories(adapterDir);
        Map<String, org.nd4j.linalg.api.ndarray.INDArray> factors = new HashMap<>();
        List<String> targets = new ArrayList<>();
        for (int i = 0; i < layers; i += 2) {
            String path = "model.layers." + i + ".proj";
            targets.add(path);
            factors.put("base_model.model." + path + ".lora_A.weight", Nd4j.randn(i, new long[] {8, 1024}).castTo(
                    org.nd4j.linalg.api.buffer.DataType.FLOAT).muli(0.01));
            factors.put("base_model.model." + path + ".lora_B.weight", Nd4j.randn(i + 1L, new long[] {1024, 8}).castTo(
                    org.nd4j.linalg.api.buffer.DataType.FLOAT).muli(0.01));
        }
        SafetensorsWriter.write(adapterDir.resolve("adapter_model.safetensors"), factors, Map.of());
        PeftAdapterConfig.lora(8, 16, TargetModules.names(targets)).write(adapterDir.resolve(PeftAdapterConfig.FILE_NAME));
        return targets.size();
    }

    private static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Path log = Files.createTempFile("lora4j-bench", ".log");
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!process.waitFor(CHILD_TIMEOUT_MINUTES, java.util.concurrent.TimeUnit.MINUTES)) {
                process.destroyForcibly().waitFor();
                throw new IOException("no result within " + CHILD_TIMEOUT_MINUTES + " minutes from " + command);
            }
            String output = Files.readString(log, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new IOException("exit " + process.exitValue() + " from " + command + ":\n" + output);
            }
            return output;
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return SideBySide.quantile(sorted, 0.5);
    }
}
