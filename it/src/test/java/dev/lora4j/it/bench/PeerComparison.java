package dev.lora4j.it.bench;

import dev.lora4j.NativeThreads;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.samples.minilm.GenreData;
import dev.lora4j.train.internal.DataParallel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * lora4j's main-job training step against the PyTorch peer doing the same step on the same batch
 * shapes ({@link TorchPeer}), interleaved round by round in one run: lora4j with one worker and
 * with one per core, PyTorch with one thread, with OpenBLAS on every core and one intra-op thread
 * (its fastest setting on this machine when the issue was filed) and with everything on every core;
 * and each framework's one-thread GEMM ceiling (16 float32 products of 2048², preallocated output),
 * for the per-core MFU of both.
 *
 * <p>{@code cd it && MAVEN_OPTS=-Xmx3g mvn -B -ntp -q exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=dev.lora4j.it.bench.PeerComparison -Dexec.args="10"} (rounds; without {@code
 * OMP_NUM_THREADS}). Prints why and stops when torch is absent.
 */
public final class PeerComparison {

    private static final String ND4J_CEILING = "ceiling: Nd4j.gemm, 1 thread";
    private static final String TORCH_CEILING = "ceiling: torch.mm, 1 thread";

    private PeerComparison() {}

    /** Runs the comparison with {@code args[0]} rounds (default 10) and prints it. */
    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        Optional<String> missing = TorchPeer.unavailable();
        if (missing.isPresent()) {
            System.out.println("PyTorch peer skipped: " + missing.get());
            System.exit(0);
        }
        LoraAgent.install();
        MiniLmTraining training = new MiniLmTraining(4);
        int n = Runtime.getRuntime().availableProcessors();
        List<Long> lengths = training.batches().stream().map(GenreData.Batch::length).toList();
        Path script = Path.of("src/test/python/minilm_step_peer.py").toAbsolutePath();
        String all = Integer.toString(n);
        List<TorchPeer> peers = new ArrayList<>();
        Map<String, Runnable> settings = new LinkedHashMap<>();
        try (DataParallel<GenreData.Batch> one = training.workers(1);
                DataParallel<GenreData.Batch> workers = training.workers(n)) {
            settings.put("lora4j, " + n + " workers", () -> training.steps(workers));
            settings.put("lora4j, 1 worker", () -> training.steps(one));
            TorchPeer single = start(peers, script, lengths, "1", "1");
            TorchPeer blas = start(peers, script, lengths, all, "1");
            TorchPeer everything = start(peers, script, lengths, all, all);
            settings.put("torch, 1 thread", single::round);
            INDArray a = Nd4j.rand(DataType.FLOAT, 2048, 2048);
            INDArray b = Nd4j.rand(DataType.FLOAT, 2048, 2048);
            INDArray c = Nd4j.create(DataType.FLOAT, new long[] {2048, 2048}, 'f');
            settings.put(ND4J_CEILING, () -> {
                NativeThreads.limit(1);
                for (int i = 0; i < 16; i++) {
                    Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
                }
            });
            settings.put(TORCH_CEILING, single::ceiling);
            settings.put("torch, BLAS×" + n + " intra-op×1", blas::round);
            settings.put("torch, BLAS×" + n + " intra-op×" + n, everything::round);
            double load = ThreadComparison.load();
            Map<String, double[]> times = WorkerComparison.interleave(settings, 2, rounds);
            System.out.printf(Locale.ROOT, "%d rounds of %d steps (batch %d, lengths %s), %d cores, load %.2f before,"
                            + " %.2f after%n", rounds, lengths.size(), MiniLmTraining.BATCH, lengths, n, load,
                    ThreadComparison.load());
            System.out.print(WorkerComparison.report(MiniLmTraining.BATCH * lengths.size(), times));
            double flops = training.flops(training.counter()).total();
            double gemmFlops = 16 * 2.0 * 2048 * 2048 * 2048;
            System.out.printf(Locale.ROOT, "per core, MFU against the GEMM ceiling of the same rounds: lora4j (1 worker)"
                            + " %.1f%% of %.1f GFLOP/s, torch (1 thread) %.1f%% of %.1f GFLOP/s; %.2f GFLOP per round%n",
                    100 * mfu(flops, times.get("lora4j, 1 worker"), gemmFlops, times.get(ND4J_CEILING)),
                    gemmFlops / WorkerComparison.median(times.get(ND4J_CEILING)) / 1e6,
                    100 * mfu(flops, times.get("torch, 1 thread"), gemmFlops, times.get(TORCH_CEILING)),
                    gemmFlops / WorkerComparison.median(times.get(TORCH_CEILING)) / 1e6, flops / 1e9);
        } finally {
            peers.forEach(TorchPeer::close);
        }
        System.exit(0); // ND4J and DJL leave non-daemon threads behind
    }

    /** Median over rounds of (FLOPs ÷ step time) ÷ (GEMM FLOPs ÷ ceiling time), round by round. */
    private static double mfu(double flops, double[] steps, double gemmFlops, double[] ceiling) {
        double[] ratio = new double[steps.length];
        for (int r = 0; r < steps.length; r++) {
            ratio[r] = (flops / steps[r]) / (gemmFlops / ceiling[r]);
        }
        return WorkerComparison.median(ratio);
    }

    private static TorchPeer start(List<TorchPeer> peers, Path script, List<Long> lengths, String blas, String intra) {
        TorchPeer peer = TorchPeer.start(script, MiniLmTraining.BATCH, lengths,
                Map.of("OPENBLAS_NUM_THREADS", blas, "OMP_NUM_THREADS", intra, "TORCH_THREADS", intra));
        peers.add(peer);
        return peer;
    }
}
