package dev.lora4j.it.bench;

import dev.lora4j.autograd.internal.Gemm;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.cli.internal.ProcessDefaults;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The benchmark suite: every figure is a ratio of two things measured side by side in this run,
 * plus the GEMM ceiling they can be compared with. Writes {@code it/target/benchmarks/results.json}
 * and prints the rows for BENCHMARKS.md.
 *
 * <pre>
 * mvn -B -ntp -q install -DskipTests
 * cd it && OMP_NUM_THREADS=1 MAVEN_OPTS=-Xmx2g mvn -B -ntp -q exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.lora4j.it.bench.Benchmarks
 * </pre>
 *
 * {@code --rounds N} sets the timed rounds per comparison (default 40); {@code --smoke} runs a
 * few rounds of everything, to check that it runs; {@code --only agent}, {@code --only mfu} or
 * {@code --only threads} runs only the agent comparison, the main-job MFU row or the 1-vs-2-thread
 * row; {@code --only merge} only the merge tool against a file copy ({@code --merge-runs N}
 * rounds, default 3; {@code --baseline-jar <lora4j-runtime-*-all.jar>} also times another build's
 * merge tool in the same rounds, for a before/after comparison).
 *
 * <pre>
 * mvn -B -ntp -q -pl it exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.lora4j.it.bench.Benchmarks \
 *     -Dexec.args="--only merge --merge-runs 9 --baseline-jar /path/to/old/lora4j-runtime-0.1.0-SNAPSHOT-all.jar"
 * </pre>
 */
public final class Benchmarks {

    /** The largest heap the suite runs with (see {@link #main}). */
    private static final long MAX_HEAP = 3L << 30;

    private Benchmarks() {}

    /** Runs the suite. */
    public static void main(String[] args) throws Exception {
        ProcessDefaults.apply(); // as the command line runs the main job, before ND4J loads
        boolean smoke = List.of(args).contains("--smoke");
        int rounds = smoke ? 3 : 40;
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals("--rounds")) {
                rounds = Integer.parseInt(args[i + 1]);
            }
        }
        String only = null;
        int mergeRuns = smoke ? 1 : 3;
        Path baselineJar = null;
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals("--only")) {
                only = args[i + 1];
            } else if (args[i].equals("--merge-runs")) {
                mergeRuns = Integer.parseInt(args[i + 1]);
            } else if (args[i].equals("--baseline-jar")) {
                baselineJar = Path.of(args[i + 1]);
            }
        }
        Path mergeWork = Path.of("target", "bench-merge");
        if ("merge".equals(only)) {
            for (ProcessBenchmarks.Pair pair : ProcessBenchmarks.mergeVersusCopy(smoke ? 16 : 1100, mergeRuns, mergeWork,
                    baselineJar)) {
                System.out.println(pair.line());
            }
            return;
        }
        if (Runtime.getRuntime().maxMemory() > MAX_HEAP) {
            // ND4J frees native buffers only when their Java objects are collected; a large heap is
            // seldom collected, and MiniLM training then grows the process by gigabytes a minute
            throw new IllegalStateException(String.format(Locale.ROOT, "the heap may grow to %.1f GiB: run with at most "
                    + "2 GiB (MAVEN_OPTS=-Xmx2g for exec:java), so that ND4J's native buffers are freed",
                    Runtime.getRuntime().maxMemory() / 1073741824.0));
        }
        LoraAgent.install();
        if ("agent".equals(only)) {
            try (GradMode.Scope ignored = GradMode.disable()) {
                System.out.println(new AgentOverhead().run(rounds).line());
            }
            return;
        }
        if ("threads".equals(only)) {
            System.out.println(ThreadComparison.inChild(rounds));
            return;
        }
        double loadStart = ThreadComparison.load();
        System.out.println("Machine: " + MachineDescription.describe());
        List<String> json = new ArrayList<>();
        json.add(MachineDescription.json());
        MiniLmTraining training = new MiniLmTraining(smoke ? 1 : 4);
        if ("mfu".equals(only)) {
            MainJobBenchmark.Result mfu = MainJobBenchmark.run(training, 2048, 16, Math.max(3, rounds / 5), rounds);
            System.out.println(mfu.line());
            return;
        }
        double ceiling = LayerBenchmarks.gemmCeiling(smoke ? 256 : 2048, smoke ? 2 : 10);
        System.out.printf(Locale.ROOT, "GEMM ceiling (lora4j's Gemm: %s, float32, %s², preallocated output): %.1f GFLOP/s%n",
                Gemm.usesOneDnn() ? "oneDNN" : "OpenBLAS", smoke ? "256" : "2048", ceiling);
        json.add(String.format(Locale.ROOT, "{\"name\": \"gemm_ceiling_gflops\", \"value\": %.2f}", ceiling));
        MainJobBenchmark.Result mfu = smoke ? MainJobBenchmark.run(training, 256, 1, 1, 1)
                : MainJobBenchmark.run(training, 2048, 16, Math.max(3, rounds / 5), rounds);
        System.out.println(mfu.line());
        json.add(mfu.json());
        List<SideBySide.Result> results = new ArrayList<>();
        results.add(HotPathBenchmarks.dropout(smoke ? 2 : 32, smoke ? 8 : 32, rounds));
        results.add(LayerBenchmarks.trainStep(smoke ? 128 : 1024, smoke ? 32 : 256, 8, rounds));
        results.addAll(LayerBenchmarks.inference(smoke ? 128 : 1024, smoke ? 8 : 64, 8, rounds));
        AgentOverhead agent = new AgentOverhead();
        try (GradMode.Scope ignored = GradMode.disable()) {
            results.add(agent.run(rounds));
        }
        for (SideBySide.Result result : results) {
            System.out.println(result.line());
            json.add(result.json());
        }
        List<ProcessBenchmarks.Pair> pairs = new ArrayList<>();
        pairs.add(ProcessBenchmarks.startup(smoke ? 1 : 5));
        pairs.addAll(ProcessBenchmarks.mergeVersusCopy(smoke ? 16 : 1100, mergeRuns, mergeWork, baselineJar));
        for (ProcessBenchmarks.Pair pair : pairs) {
            System.out.println(pair.line());
            json.add(pair.json());
        }
        if (smoke) {
            SideBySide.Result threads = ThreadComparison.inProcess(training, 0, 1);
            System.out.println(threads.line());
            json.add(threads.json());
        } else {
            String threads = ThreadComparison.inChild(rounds);
            System.out.println(threads);
            json.add(threads);
        }
        json.add(String.format(Locale.ROOT, "{\"name\": \"load_average\", \"start\": %.2f, \"end\": %.2f}",
                loadStart, ThreadComparison.load()));
        Path dir = Path.of("target", "benchmarks");
        Files.createDirectories(dir);
        Path file = dir.resolve("results.json");
        Files.writeString(file, "{\"date\": \"" + LocalDate.now() + "\", \"smoke\": " + smoke + ", \"results\": [\n  "
                + String.join(",\n  ", json) + "\n]}\n", StandardCharsets.UTF_8);
        System.out.println("written " + file.toAbsolutePath());
    }
}
