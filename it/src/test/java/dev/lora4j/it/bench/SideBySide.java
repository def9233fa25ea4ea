package dev.lora4j.it.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Measures two pieces of work against each other in one JVM: after a warm-up, each round times
 * {@code batch} calls of A and of B back to back (the order alternating between rounds), and the
 * result is the distribution of per-round ratios A/B. Interleaving keeps slow drifts of a noisy
 * machine (another process, thermal state) out of the ratio.
 */
public final class SideBySide {

    /**
     * The outcome.
     *
     * @param name what was compared
     * @param rounds the timed rounds
     * @param medianA median time of one call of A, in microseconds
     * @param medianB median time of one call of B, in microseconds
     * @param medianRatio median of the per-round ratios A/B
     * @param q1Ratio first quartile of the ratios
     * @param q3Ratio third quartile of the ratios
     */
    public record Result(String name, int rounds, double medianA, double medianB, double medianRatio,
            double q1Ratio, double q3Ratio) {

        /** One line for a log or a table. */
        public String line() {
            return String.format(Locale.ROOT, "%s: ratio %.4f (IQR %.4f–%.4f) over %d rounds; A %.1f µs, B %.1f µs",
                    name, medianRatio, q1Ratio, q3Ratio, rounds, medianA, medianB);
        }

        /** As a JSON object. */
        public String json() {
            return String.format(Locale.ROOT,
                    "{\"name\": \"%s\", \"rounds\": %d, \"median_a_us\": %.3f, \"median_b_us\": %.3f, "
                            + "\"median_ratio\": %.5f, \"q1_ratio\": %.5f, \"q3_ratio\": %.5f}",
                    name, rounds, medianA, medianB, medianRatio, q1Ratio, q3Ratio);
        }
    }

    private SideBySide() {}

    /** Compares A with B: {@code warmup} untimed rounds, then {@code rounds} timed ones. */
    public static Result compare(String name, Runnable a, Runnable b, int warmup, int rounds, int batch) {
        for (int i = 0; i < warmup; i++) {
            time(a, batch);
            time(b, batch);
        }
        List<Double> timesA = new ArrayList<>();
        List<Double> timesB = new ArrayList<>();
        double[] ratios = new double[rounds];
        for (int i = 0; i < rounds; i++) {
            double ta;
            double tb;
            if (i % 2 == 0) {
                ta = time(a, batch);
                tb = time(b, batch);
            } else {
                tb = time(b, batch);
                ta = time(a, batch);
            }
            timesA.add(ta);
            timesB.add(tb);
            ratios[i] = ta / tb;
        }
        Arrays.sort(ratios);
        return new Result(name, rounds, median(timesA) / batch / 1e3, median(timesB) / batch / 1e3,
                quantile(ratios, 0.5), quantile(ratios, 0.25), quantile(ratios, 0.75));
    }

    private static double time(Runnable work, int batch) {
        long start = System.nanoTime();
        for (int i = 0; i < batch; i++) {
            work.run();
        }
        return System.nanoTime() - start;
    }

    private static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return quantile(sorted, 0.5);
    }

    static double quantile(double[] sorted, double q) {
        double position = q * (sorted.length - 1);
        int low = (int) Math.floor(position);
        int high = (int) Math.ceil(position);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }
}
