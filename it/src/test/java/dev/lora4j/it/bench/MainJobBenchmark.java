package dev.lora4j.it.bench;

import dev.lora4j.samples.minilm.GenreData;
import dev.lora4j.train.internal.DataParallel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import dev.lora4j.autograd.internal.Gemm;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Model FLOPs utilisation of the main job's training on one core, lora4j beside PyTorch: rounds of
 * MiniLM LoRA training steps ({@link MiniLmTraining}) on one data-parallel worker, as the main job
 * trains, interleaved with rounds of the GEMM ceiling ({@code Gemm.into}: the products lora4j's layers use, float32, n², preallocated
 * output) and, when {@code /usr/bin/python3} has torch, with the {@link TorchPeer} doing the same
 * step on one thread and its own ceiling ({@code torch.mm}, the same products). Each round's ratio
 * compares two settings under the same machine load. MFU = (counted model FLOPs of the steps ÷
 * their time) ÷ (GEMM FLOPs ÷ their time), per round, against each framework's own ceiling, the
 * FLOPs those of the padded step for both sides ({@link EncoderFlops}); lora4j packs the real
 * tokens and computes fewer, so its share of the FLOPs it does compute is given beside it.
 */
public final class MainJobBenchmark {

    /** lora4j's step on one worker. */
    public static final String LORA4J = "lora4j, 1 worker";
    /** PyTorch's step on one thread. */
    public static final String TORCH = "torch, 1 thread";
    /** lora4j's ceiling. */
    public static final String LORA4J_CEILING = "ceiling: lora4j's Gemm, 1 thread";
    /** PyTorch's ceiling. */
    public static final String TORCH_CEILING = "ceiling: torch.mm, 1 thread";
    /** The peer's script, from the it module's directory. */
    public static final Path PEER_SCRIPT = Path.of("src/test/python/minilm_step_peer.py");

    /**
     * The outcome.
     *
     * @param times milliseconds of each setting per round, by name
     * @param steps training steps per round
     * @param realTokens real tokens per round
     * @param paddedTokens token positions per round, padding included
     * @param flops counted model FLOPs per round, the padded step's (every position; what PyTorch computes)
     * @param lora4jFlops the FLOPs per round lora4j computes (real tokens packed)
     * @param conventionalFlops {@code 6·N·tokens} per round
     * @param gemmFlops FLOPs of the GEMMs of one round
     * @param peerSkipped why the PyTorch peer did not run, or {@code null} when it did
     */
    public record Result(Map<String, double[]> times, int steps, long realTokens, long paddedTokens,
            EncoderFlops.Count flops, EncoderFlops.Count lora4jFlops, double conventionalFlops, double gemmFlops,
            String peerSkipped) {

        /** The quantile q of the per-round MFU of a setting against a ceiling. */
        public double mfu(String setting, String ceiling, double q) {
            double[] step = times.get(setting);
            double[] gemm = times.get(ceiling);
            double[] ratio = new double[step.length];
            for (int r = 0; r < step.length; r++) {
                ratio[r] = (flops.total() / step[r]) / (gemmFlops / gemm[r]);
            }
            return WorkerComparison.quantile(ratio, q);
        }

        /** The quantile q of lora4j's per-round share of its ceiling in the FLOPs it computes (real tokens packed). */
        public double computedShare(double q) {
            return mfu(LORA4J, LORA4J_CEILING, q) * lora4jFlops.total() / flops.total();
        }

        /** lora4j's median MFU. */
        public double mfu() {
            return mfu(LORA4J, LORA4J_CEILING, 0.5);
        }

        /** The quantile q of the per-round ratio of lora4j's speed to PyTorch's (sentences/s). */
        public double speedOverTorch(double q) {
            double[] lora4j = times.get(LORA4J);
            double[] torch = times.get(TORCH);
            double[] ratio = new double[lora4j.length];
            for (int r = 0; r < lora4j.length; r++) {
                ratio[r] = torch[r] / lora4j[r];
            }
            return WorkerComparison.quantile(ratio, q);
        }

        private double gflops(String ceiling) {
            return gemmFlops / WorkerComparison.median(times.get(ceiling)) / 1e6;
        }

        private double seconds(String setting) {
            return WorkerComparison.median(times.get(setting)) / 1e3;
        }

        /** The rows for a log. */
        public String line() {
            double seconds = seconds(LORA4J);
            int rounds = times.get(LORA4J).length;
            String lora4j = String.format(Locale.ROOT,
                    "MiniLM LoRA training, %s: MFU %.1f%% (IQR %.1f–%.1f%%) over %d rounds of %d steps; %.0f ms/step, "
                            + "%.0f real tokens/s, %.0f padded tokens/s, %.1f sentences/s; %.2f GFLOP/step counted "
                            + "(%.2f fwd, %.2f input grads, %.3f weight grads); of the %.2f GFLOP/step it computes "
                            + "(real tokens packed) %.1f%% (IQR %.1f–%.1f%%); %s in these rounds %.1f GFLOP/s; "
                            + "6·N·tokens would say %.2f GFLOP/step",
                    LORA4J, 100 * mfu(), 100 * mfu(LORA4J, LORA4J_CEILING, 0.25), 100 * mfu(LORA4J, LORA4J_CEILING, 0.75),
                    rounds, steps, seconds * 1e3 / steps, realTokens / seconds, paddedTokens / seconds,
                    MiniLmTraining.BATCH * steps / seconds, flops.total() / steps / 1e9, flops.forward() / steps / 1e9,
                    flops.inputGradients() / steps / 1e9, flops.weightGradients() / steps / 1e9,
                    lora4jFlops.total() / steps / 1e9, 100 * computedShare(0.5), 100 * computedShare(0.25),
                    100 * computedShare(0.75), LORA4J_CEILING, gflops(LORA4J_CEILING), conventionalFlops / steps / 1e9);
            if (peerSkipped != null) {
                return lora4j + "\nPyTorch peer skipped: " + peerSkipped;
            }
            double torchSeconds = seconds(TORCH);
            return lora4j + String.format(Locale.ROOT,
                    "%nMiniLM LoRA training, %s%s: MFU %.1f%% (IQR %.1f–%.1f%%); %.0f ms/step, %.1f sentences/s; "
                            + "%s in these rounds %.1f GFLOP/s%n"
                            + "lora4j ÷ PyTorch, one core, sentences/s: %.2f× (IQR %.2f–%.2f)",
                    TORCH, TorchPeer.openBlasCoreType().map(core -> " (OPENBLAS_CORETYPE=" + core + ")").orElse(""),
                    100 * mfu(TORCH, TORCH_CEILING, 0.5), 100 * mfu(TORCH, TORCH_CEILING, 0.25),
                    100 * mfu(TORCH, TORCH_CEILING, 0.75), torchSeconds * 1e3 / steps,
                    MiniLmTraining.BATCH * steps / torchSeconds, TORCH_CEILING, gflops(TORCH_CEILING),
                    speedOverTorch(0.5), speedOverTorch(0.25), speedOverTorch(0.75));
        }

        /** As JSON. */
        public String json() {
            double seconds = seconds(LORA4J);
            String torch = peerSkipped != null
                    ? String.format(Locale.ROOT, "\"torch_skipped\": \"%s\"", peerSkipped.replace("\"", "'"))
                    : String.format(Locale.ROOT,
                            "\"torch_mfu\": %.4f, \"torch_ms_per_step\": %.1f, \"torch_ceiling_gflops\": %.2f, "
                                    + "\"lora4j_over_torch\": %.4f, \"lora4j_over_torch_q1\": %.4f, "
                                    + "\"lora4j_over_torch_q3\": %.4f, \"torch_openblas_coretype\": \"%s\"",
                            mfu(TORCH, TORCH_CEILING, 0.5), seconds(TORCH) * 1e3 / steps, gflops(TORCH_CEILING),
                            speedOverTorch(0.5), speedOverTorch(0.25), speedOverTorch(0.75),
                            TorchPeer.openBlasCoreType().orElse("OpenBLAS's own choice"));
            return String.format(Locale.ROOT,
                    "{\"name\": \"MiniLM LoRA training, one core\", \"rounds\": %d, \"steps_per_round\": %d, "
                            + "\"mfu\": %.4f, \"mfu_q1\": %.4f, \"mfu_q3\": %.4f, \"ms_per_step\": %.1f, "
                            + "\"real_tokens_per_s\": %.1f, \"padded_tokens_per_s\": %.1f, \"gflop_per_step\": %.3f, "
                            + "\"computed_gflop_per_step\": %.3f, \"computed_share\": %.4f, "
                            + "\"conventional_gflop_per_step\": %.3f, \"ceiling_gflops\": %.2f, %s}",
                    times.get(LORA4J).length, steps, mfu(), mfu(LORA4J, LORA4J_CEILING, 0.25),
                    mfu(LORA4J, LORA4J_CEILING, 0.75), seconds * 1e3 / steps, realTokens / seconds,
                    paddedTokens / seconds, flops.total() / steps / 1e9, lora4jFlops.total() / steps / 1e9,
                    computedShare(0.5), conventionalFlops / steps / 1e9, gflops(LORA4J_CEILING), torch);
        }
    }

    private MainJobBenchmark() {}

    /**
     * Measures {@code training}'s steps on one worker against {@code gemms} products of n² per
     * round, and PyTorch's beside them when it can run here (otherwise the result says why not).
     *
     * @param warmup untimed rounds first
     */
    public static Result run(MiniLmTraining training, int n, int gemms, int warmup, int rounds) {
        Optional<String> missing = TorchPeer.unavailable();
        List<Long> lengths = training.batches().stream().map(GenreData.Batch::length).toList();
        Map<String, double[]> times;
        try (DataParallel<GenreData.Batch> one = training.workers(1);
                TorchPeer torch = missing.isEmpty() ? TorchPeer.start(PEER_SCRIPT.toAbsolutePath(),
                        MiniLmTraining.BATCH, lengths, Map.of("OPENBLAS_NUM_THREADS", "1", "OMP_NUM_THREADS", "1",
                                "TORCH_THREADS", "1")) : null) {
            times = WorkerComparison.interleave(perCore(training, one, torch, n, gemms), warmup, rounds);
        }
        EncoderFlops counter = training.counter();
        return new Result(times, training.batches().size(), training.realTokens(), training.paddedTokens(),
                training.flops(counter), training.packedFlops(counter), training.conventionalFlops(counter),
                gemms * 2.0 * n * n * n,
                missing.orElse(null));
    }

    /**
     * The one-core settings: lora4j's round of steps on {@code one} worker and its ceiling, and
     * PyTorch's when {@code torch} is not {@code null}.
     */
    public static Map<String, Runnable> perCore(MiniLmTraining training, DataParallel<GenreData.Batch> one,
            TorchPeer torch, int n, int gemms) {
        INDArray a = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray b = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray c = Nd4j.create(DataType.FLOAT, n, n);
        Map<String, Runnable> settings = new LinkedHashMap<>();
        settings.put(LORA4J, () -> training.steps(one));
        settings.put(LORA4J_CEILING, () -> {
            for (int i = 0; i < gemms; i++) {
                Gemm.into(a, b, c, false, false, 1.0, 0.0);
            }
        });
        if (torch != null) {
            settings.put(TORCH, torch::round);
            settings.put(TORCH_CEILING, () -> torch.ceiling(n, gemms));
        }
        return settings;
    }
}
