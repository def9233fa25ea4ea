package dev.lora4j.it.bench;

import dev.lora4j.NativeThreads;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.cli.internal.ProcessDefaults;
import dev.lora4j.samples.minilm.GenreData;
import dev.lora4j.train.internal.DataParallel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * The main job's training step under the thread settings data-parallel training chooses between,
 * interleaved round by round in one JVM (rotating which goes first), so that each round compares
 * them under the same machine load:
 *
 * <ul>
 *   <li>{@code 1 thread}: the step as the {@code Trainer} runs a task without a slicer, on the
 *       calling thread (step memory, no per-example dropout); until 2026-12-07 this row ran the
 *       step outside step memory, as the jobs did before workers, which let the process grow by
 *       gigabytes;
 *   <li>{@code 1 worker}: one data-parallel worker (per-example dropout, step memory), the
 *       reference of the ratios;
 *   <li>{@code N workers}: the batch split over N data-parallel workers, one native thread each;
 *   <li>{@code BLAS×N}: one worker, OpenBLAS on N threads for the GEMMs and libnd4j's own ops
 *       (element-wise, LayerNorm, softmax) on one, PyTorch's fastest split on this machine;
 *   <li>{@code all×N}: one worker, everything on N threads (ND4J's default).
 * </ul>
 *
 * <p>Run it without {@code OMP_NUM_THREADS} (which would cap OpenMP for the process):
 * {@code cd it && MAVEN_OPTS=-Xmx3g mvn -B -ntp -q exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=dev.lora4j.it.bench.WorkerComparison -Dexec.args="12"} (rounds; default 10).
 */
public final class WorkerComparison {

    private WorkerComparison() {}

    /** Milliseconds per round of each setting, by name, in round order. */
    public static Map<String, double[]> run(MiniLmTraining training, int n, int warmup, int rounds) {
        Map<String, Runnable> settings = new LinkedHashMap<>();
        DataParallel<GenreData.Batch> workers = training.workers(n);
        DataParallel<GenreData.Batch> one = training.workers(1);
        settings.put("1 worker", () -> {
            NativeThreads.limit(1);
            training.steps(one);
        });
        settings.put("1 thread", () -> {
            NativeThreads.limit(1);
            training.steps();
        });
        settings.put(n + " workers", () -> training.steps(workers));
        settings.put("BLAS×" + n, () -> {
            NativeThreads.limit(1);
            Nd4j.factory().blas().setMaxThreads(n);
            training.steps();
        });
        settings.put("all×" + n, () -> {
            NativeThreads.limit(n);
            training.steps();
        });
        try {
            return interleave(settings, warmup, rounds);
        } finally {
            workers.close();
            one.close();
            NativeThreads.limit(1);
            NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(1);
        }
    }

    /**
     * Runs every setting once per round, the order rotating from round to round, after {@code
     * warmup} untimed rounds; milliseconds per round of each setting, by name.
     */
    public static Map<String, double[]> interleave(Map<String, Runnable> settings, int warmup, int rounds) {
        List<String> names = new ArrayList<>(settings.keySet());
        Map<String, double[]> times = new LinkedHashMap<>();
        names.forEach(name -> times.put(name, new double[rounds]));
        for (int round = -warmup; round < rounds; round++) {
            for (int i = 0; i < names.size(); i++) {
                String name = names.get(Math.floorMod(round + i, names.size()));
                long start = System.nanoTime();
                settings.get(name).run();
                if (round >= 0) {
                    times.get(name)[round] = (System.nanoTime() - start) / 1e6;
                }
            }
        }
        return times;
    }

    /** Median of each setting's rounds, and of its per-round speed-up over the first setting. */
    public static String report(MiniLmTraining training, Map<String, double[]> times) {
        return report(MiniLmTraining.BATCH * training.batches().size(), times);
    }

    /** Median of each setting's rounds, and of its per-round speed-up over the first setting. */
    public static String report(int sentences, Map<String, double[]> times) {
        StringBuilder out = new StringBuilder();
        double[] base = times.values().iterator().next();
        String first = times.keySet().iterator().next();
        times.forEach((name, t) -> {
            double[] ratio = new double[t.length];
            for (int r = 0; r < t.length; r++) {
                ratio[r] = base[r] / t[r];
            }
            out.append(String.format(Locale.ROOT, "%-28s %7.0f ms/round  %5.1f sentences/s  speed-up over %s %.2f×"
                    + " (IQR %.2f–%.2f)%n", name, median(t), sentences / (median(t) / 1e3), first, median(ratio),
                    quantile(ratio, 0.25), quantile(ratio, 0.75)));
        });
        return out.toString();
    }

    static double median(double[] values) {
        return quantile(values, 0.5);
    }

    static double quantile(double[] values, double q) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        double position = q * (sorted.length - 1);
        int low = (int) Math.floor(position);
        int high = (int) Math.ceil(position);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }

    /** Runs the comparison with {@code args[0]} rounds (default 10) and prints it. */
    public static void main(String[] args) {
        ProcessDefaults.apply(); // as the command line runs the main job, before ND4J loads
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        LoraAgent.install();
        MiniLmTraining training = new MiniLmTraining(4);
        int n = Runtime.getRuntime().availableProcessors();
        double load = ThreadComparison.load();
        Map<String, double[]> times = run(training, n, 2, rounds);
        System.out.printf(Locale.ROOT, "%d rounds of %d steps (batch %d), %d cores, load %.2f before, %.2f after%n",
                rounds, training.batches().size(), MiniLmTraining.BATCH, n, load, ThreadComparison.load());
        System.out.print(report(training, times));
        System.exit(0); // ND4J and DJL leave non-daemon threads behind
    }
}
