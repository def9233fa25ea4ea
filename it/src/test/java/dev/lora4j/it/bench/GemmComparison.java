package dev.lora4j.it.bench;

import dev.lora4j.autograd.internal.Gemm;
import dev.lora4j.cli.internal.ProcessDefaults;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The float32 products of the main job's step, ND4J's {@code Nd4j.gemm} (OpenBLAS) beside lora4j's
 * {@link Gemm} (oneDNN), into preallocated outputs, interleaved round by round on the calling
 * thread's settings (run it with {@code OMP_NUM_THREADS=1} for one core). Prints GFLOP/s per shape
 * and the ratio, medians over the rounds, and checks that both agree to float rounding.
 *
 * <p>{@code cd it && OMP_NUM_THREADS=1 mvn -B -ntp -o -q exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=dev.lora4j.it.bench.GemmComparison -Dexec.args="8"}
 */
public final class GemmComparison {

    /** m, n, k, transpose b: a 32 × 30-token batch's projections, FFN and their input gradients. */
    private static final int[][] SHAPES = {
        {960, 384, 384, 1}, {960, 1536, 384, 1}, {960, 384, 1536, 1}, {960, 384, 384, 0}, {960, 384, 1536, 0},
        {960, 1536, 384, 0}, {1440, 384, 384, 1}, {2048, 2048, 2048, 0},
    };

    private GemmComparison() {}

    public static void main(String[] args) {
        ProcessDefaults.apply(); // as the command line runs the main job, before ND4J loads
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        System.out.printf(Locale.ROOT, "oneDNN loaded: %s; %d rounds, alternating%n", Gemm.usesOneDnn(), rounds);
        System.out.println("| m × n × k (b transposed) | Nd4j.gemm GFLOP/s | lora4j Gemm GFLOP/s | ratio |");
        System.out.println("|---|---|---|---|");
        for (int[] s : SHAPES) {
            int m = s[0];
            int n = s[1];
            int k = s[2];
            boolean tb = s[3] == 1;
            INDArray a = Nd4j.rand(DataType.FLOAT, m, k);
            INDArray b = tb ? Nd4j.rand(DataType.FLOAT, n, k) : Nd4j.rand(DataType.FLOAT, k, n);
            INDArray viaNd4j = Nd4j.create(DataType.FLOAT, m, n);
            INDArray viaGemm = Nd4j.create(DataType.FLOAT, m, n);
            int repetitions = (int) Math.max(3, 4e9 / (2.0 * m * n * k));
            Map<String, Runnable> settings = new LinkedHashMap<>();
            settings.put("nd4j", () -> {
                for (int i = 0; i < repetitions; i++) {
                    Nd4j.gemm(a, b, viaNd4j, false, tb, 1.0, 0.0);
                }
            });
            settings.put("gemm", () -> {
                for (int i = 0; i < repetitions; i++) {
                    Gemm.into(a, b, viaGemm, false, tb, 1.0, 0.0);
                }
            });
            Map<String, double[]> times = WorkerComparison.interleave(settings, 1, rounds);
            double flops = 2.0 * m * n * k * repetitions;
            double nd4j = flops / WorkerComparison.median(times.get("nd4j")) / 1e6;
            double gemm = flops / WorkerComparison.median(times.get("gemm")) / 1e6;
            double difference = viaNd4j.sub(viaGemm).norm1Number().doubleValue() / viaNd4j.norm1Number().doubleValue();
            if (difference > 1e-5) {
                throw new IllegalStateException("the two products differ by " + difference + " (relative L1)");
            }
            System.out.printf(Locale.ROOT, "| %d × %d × %d (%s) | %.1f | %.1f | %.2f× |%n", m, n, k, tb ? "yes" : "no",
                    nd4j, gemm, gemm / nd4j);
        }
    }
}
