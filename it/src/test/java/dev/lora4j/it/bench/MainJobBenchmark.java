package dev.lora4j.it.bench;

import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Model FLOPs utilisation of the main job's training: rounds of MiniLM LoRA training steps
 * ({@link MiniLmTraining}) interleaved with rounds of the GEMM ceiling ({@code Nd4j.gemm}, float32,
 * n², preallocated output), so that each round's ratio compares the two under the same machine
 * load. MFU = (counted model FLOPs of the steps ÷ their time) ÷ (GEMM FLOPs ÷ their time).
 */
public final class MainJobBenchmark {

    /**
     * The outcome.
     *
     * @param times the side-by-side timing: A = one round of training steps, B = the GEMMs
     * @param steps training steps per round
     * @param realTokens real tokens per round
     * @param paddedTokens token positions per round, padding included
     * @param flops counted model FLOPs per round
     * @param conventionalFlops {@code 6·N·tokens} per round
     * @param gemmFlops FLOPs of the GEMMs of one round
     */
    public record Result(SideBySide.Result times, int steps, long realTokens, long paddedTokens,
            EncoderFlops.Count flops, double conventionalFlops, double gemmFlops) {

        /** MFU at a ratio of times (training ÷ GEMMs). */
        private double mfuAt(double ratio) {
            return flops.total() / gemmFlops / ratio;
        }

        /** The median MFU (from the median ratio). */
        public double mfu() {
            return mfuAt(times.medianRatio());
        }

        /** The ceiling's rate in these rounds, GFLOP/s. */
        public double ceilingGflops() {
            return gemmFlops / times.medianB() / 1e3;
        }

        /** Milliseconds per training step (median). */
        public double msPerStep() {
            return times.medianA() / 1e3 / steps;
        }

        /** One line for a log. */
        public String line() {
            double seconds = times.medianA() / 1e6;
            return String.format(Locale.ROOT,
                    "%s: MFU %.1f%% (IQR %.1f–%.1f%%) over %d rounds; %.0f ms/step, %.0f real tokens/s, "
                            + "%.0f padded tokens/s, %.0f sentences/s; %.2f GFLOP/step counted (%.2f fwd, %.2f input grads, "
                            + "%.3f weight grads); ceiling in these rounds %.1f GFLOP/s; 6·N·tokens would say %.2f GFLOP/step, "
                            + "MFU %.1f%%",
                    times.name(), 100 * mfu(), 100 * mfuAt(times.q3Ratio()), 100 * mfuAt(times.q1Ratio()), times.rounds(),
                    msPerStep(), realTokens / seconds, paddedTokens / seconds, MiniLmTraining.BATCH * steps / seconds,
                    flops.total() / steps / 1e9, flops.forward() / steps / 1e9, flops.inputGradients() / steps / 1e9,
                    flops.weightGradients() / steps / 1e9, ceilingGflops(), conventionalFlops / steps / 1e9,
                    100 * conventionalFlops / gemmFlops / times.medianRatio());
        }

        /** As JSON. */
        public String json() {
            double seconds = times.medianA() / 1e6;
            return String.format(Locale.ROOT,
                    "{\"name\": \"%s\", \"rounds\": %d, \"steps_per_round\": %d, \"mfu\": %.4f, \"mfu_q1\": %.4f, "
                            + "\"mfu_q3\": %.4f, \"ms_per_step\": %.1f, \"real_tokens_per_s\": %.1f, "
                            + "\"padded_tokens_per_s\": %.1f, \"gflop_per_step\": %.3f, \"conventional_gflop_per_step\": %.3f, "
                            + "\"ceiling_gflops\": %.2f, \"median_ratio\": %.5f, \"q1_ratio\": %.5f, \"q3_ratio\": %.5f}",
                    times.name(), times.rounds(), steps, mfu(), mfuAt(times.q3Ratio()), mfuAt(times.q1Ratio()),
                    msPerStep(), realTokens / seconds, paddedTokens / seconds, flops.total() / steps / 1e9,
                    conventionalFlops / steps / 1e9, ceilingGflops(), times.medianRatio(), times.q1Ratio(),
                    times.q3Ratio());
        }
    }

    private MainJobBenchmark() {}

    /**
     * Measures {@code training}'s steps against {@code gemms} products of n² per round.
     *
     * @param warmup untimed rounds first
     */
    public static Result run(MiniLmTraining training, int n, int gemms, int warmup, int rounds) {
        INDArray a = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray b = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray c = Nd4j.create(DataType.FLOAT, new long[] {n, n}, 'f');
        Runnable ceiling = () -> {
            for (int i = 0; i < gemms; i++) {
                Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
            }
        };
        EncoderFlops counter = training.counter();
        SideBySide.Result times = SideBySide.compare(String.format(Locale.ROOT,
                        "MiniLM LoRA training (%d steps of batch %d, ≤ %d tokens) / GEMM ceiling (%d× %d²)",
                        training.batches().size(), MiniLmTraining.BATCH, MiniLmTraining.MAX_LENGTH, gemms, n),
                training::steps, ceiling, warmup, rounds, 1);
        return new Result(times, training.batches().size(), training.realTokens(), training.paddedTokens(),
                training.flops(counter), training.conventionalFlops(counter), gemms * 2.0 * n * n * n);
    }
}
