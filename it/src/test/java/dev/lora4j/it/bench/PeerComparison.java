package dev.lora4j.it.bench;

import dev.lora4j.NativeThreads;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.cli.internal.ProcessDefaults;
import dev.lora4j.samples.minilm.GenreData;
import dev.lora4j.train.internal.DataParallel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * lora4j's main-job training step against the PyTorch peer doing the same step on the same batch
 * shapes ({@link TorchPeer}), interleaved round by round in one run: the one-core settings of
 * {@link MainJobBenchmark} (lora4j on one worker, PyTorch on one thread, each framework's GEMM
 * ceiling) and, beside them, lora4j with one worker per core, PyTorch with OpenBLAS on every core and
 * one intra-op thread (its fastest setting on this machine when the issue was filed) and PyTorch
 * with everything on every core.
 *
 * <p>{@code cd it && MAVEN_OPTS=-Xmx3g mvn -B -ntp -q exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=dev.lora4j.it.bench.PeerComparison -Dexec.args="10"} (rounds; without {@code
 * OMP_NUM_THREADS}). Prints why and stops when torch is absent.
 */
public final class PeerComparison {

    private PeerComparison() {}

    /** Runs the comparison with {@code args[0]} rounds (default 10) and prints it. */
    public static void main(String[] args) {
        ProcessDefaults.apply(); // as the command line runs the main job, before ND4J loads
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
        Path script = MainJobBenchmark.PEER_SCRIPT.toAbsolutePath();
        String all = Integer.toString(n);
        List<TorchPeer> peers = new ArrayList<>();
        try (DataParallel<GenreData.Batch> one = training.workers(1);
                DataParallel<GenreData.Batch> workers = training.workers(n)) {
            TorchPeer single = start(peers, script, lengths, "1", "1");
            TorchPeer blas = start(peers, script, lengths, all, "1");
            TorchPeer everything = start(peers, script, lengths, all, all);
            Map<String, Runnable> settings = new LinkedHashMap<>();
            settings.put("lora4j, " + n + " workers", () -> training.steps(workers));
            Map<String, Runnable> perCore = MainJobBenchmark.perCore(training, one, single, 2048, 16);
            Runnable ceiling = perCore.get(MainJobBenchmark.LORA4J_CEILING);
            perCore.put(MainJobBenchmark.LORA4J_CEILING, () -> {
                NativeThreads.limit(1); // the workers' pool may have left ND4J on every core
                ceiling.run();
            });
            settings.putAll(perCore);
            settings.put("torch, BLAS×" + n + " intra-op×1", blas::round);
            settings.put("torch, BLAS×" + n + " intra-op×" + n, everything::round);
            double load = ThreadComparison.load();
            Map<String, double[]> times = WorkerComparison.interleave(settings, 2, rounds);
            System.out.printf(Locale.ROOT, "%d rounds of %d steps (batch %d, lengths %s), %d cores, load %.2f before,"
                            + " %.2f after%n", rounds, lengths.size(), MiniLmTraining.BATCH, lengths, n, load,
                    ThreadComparison.load());
            System.out.print(WorkerComparison.report(MiniLmTraining.BATCH * lengths.size(), times));
            EncoderFlops counter = training.counter();
            MainJobBenchmark.Result perCoreResult = new MainJobBenchmark.Result(times, lengths.size(),
                    training.realTokens(), training.paddedTokens(), training.flops(counter),
                    training.packedFlops(counter), training.conventionalFlops(counter), 16 * 2.0 * 2048 * 2048 * 2048, null);
            System.out.println(perCoreResult.line());
        } finally {
            peers.forEach(TorchPeer::close);
        }
        System.exit(0); // ND4J and DJL leave non-daemon threads behind
    }

    private static TorchPeer start(List<TorchPeer> peers, Path script, List<Long> lengths, String blas, String intra) {
        TorchPeer peer = TorchPeer.start(script, MiniLmTraining.BATCH, lengths,
                Map.of("OPENBLAS_NUM_THREADS", blas, "OMP_NUM_THREADS", intra, "TORCH_THREADS", intra));
        peers.add(peer);
        return peer;
    }
}
