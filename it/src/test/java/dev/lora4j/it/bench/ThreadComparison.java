package dev.lora4j.it.bench;

import dev.lora4j.NativeThreads;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.cli.internal.ProcessDefaults;
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * MiniLM LoRA training steps with one ND4J/BLAS thread ÷ the same steps with two, side by side in
 * one JVM (the setting switched before each round, as {@link NativeThreads#limit} does).
 *
 * <p>{@code OMP_NUM_THREADS=1} caps OpenMP for the life of a process, so that a second thread
 * asked for later never runs; the timed comparison therefore runs in a child JVM started without
 * that variable ({@link #inChild}), whatever the suite was started with.
 */
public final class ThreadComparison {

    private static final String PREFIX = "thread-comparison-json ";

    private ThreadComparison() {}

    /** The comparison in this JVM: A = 1 thread, B = 2 threads; leaves one thread set. */
    public static SideBySide.Result inProcess(MiniLmTraining training, int warmup, int rounds) {
        try {
            return SideBySide.compare(String.format(Locale.ROOT,
                            "MiniLM LoRA training (%d steps of batch %d): 1 ND4J/BLAS thread / 2 threads",
                            training.batches().size(), MiniLmTraining.BATCH),
                    () -> {
                        NativeThreads.limit(1);
                        training.steps();
                    },
                    () -> {
                        NativeThreads.limit(2);
                        training.steps();
                    }, warmup, rounds, 1);
        } finally {
            NativeThreads.limit(1);
        }
    }

    /**
     * The comparison in a child JVM without {@code OMP_NUM_THREADS}; returns its JSON object, with
     * the one-minute load average before and after added.
     */
    public static String inChild(int rounds) throws IOException, InterruptedException {
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx2g",
                "-cp", classpath(), ThreadComparison.class.getName(), Integer.toString(rounds));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("OMP_NUM_THREADS");
        Path log = Files.createTempFile("lora4j-threads", ".log");
        try {
            Process process = builder.redirectOutput(log.toFile()).start();
            if (!process.waitFor(30, TimeUnit.MINUTES)) {
                process.destroyForcibly().waitFor();
                throw new IOException("the thread comparison did not finish in 30 minutes");
            }
            String output = Files.readString(log, StandardCharsets.UTF_8);
            for (String line : output.split("\n")) {
                if (line.startsWith(PREFIX)) {
                    return line.substring(PREFIX.length()).trim();
                }
            }
            throw new IOException("exit " + process.exitValue() + ", no result from the thread comparison:\n" + output);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** The child: {@code rounds} timed rounds after a fifth as many untimed ones. */
    public static void main(String[] args) {
        ProcessDefaults.apply(); // as the command line runs the main job, before ND4J loads
        int rounds = Integer.parseInt(args[0]);
        LoraAgent.install();
        MiniLmTraining training = new MiniLmTraining(4);
        double loadBefore = load();
        SideBySide.Result result = inProcess(training, Math.max(2, rounds / 5), rounds);
        double loadAfter = load();
        String json = result.json();
        System.out.println(PREFIX + json.substring(0, json.length() - 1)
                + String.format(Locale.ROOT, ", \"load_before\": %.2f, \"load_after\": %.2f, \"cores\": %d}",
                        loadBefore, loadAfter, Runtime.getRuntime().availableProcessors()));
        System.exit(0); // ND4J and DJL leave non-daemon threads behind
    }

    /** The one-minute load average, as {@code uptime} shows it. */
    static double load() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    /** This JVM's class path as {@code -cp} wants it, whether it runs under exec:java, surefire or plain java. */
    private static String classpath() {
        List<String> entries = new ArrayList<>();
        for (ClassLoader l = Thread.currentThread().getContextClassLoader(); l != null; l = l.getParent()) {
            if (l instanceof URLClassLoader urls) {
                for (URL url : urls.getURLs()) {
                    try {
                        entries.add(Path.of(url.toURI()).toString());
                    } catch (URISyntaxException | IllegalArgumentException e) {
                        // not a file: not on a class path
                    }
                }
            }
        }
        entries.add(System.getProperty("java.class.path"));
        return String.join(File.pathSeparator, entries);
    }
}
