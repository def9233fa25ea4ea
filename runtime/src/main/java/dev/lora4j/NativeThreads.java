package dev.lora4j;

import dev.lora4j.autograd.internal.Gemm;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * The number of threads ND4J's native code uses: its own pool, OpenMP and OpenBLAS.
 *
 * <p>Training sets them for its own run: data-parallel workers run one thread each, and a run
 * on one worker with the default {@code TrainingConfig.workers}, while ND4J is still {@link
 * #atDefaults at its defaults}, uses {@link #split split(cores, 1)}. Otherwise lora4j sets none by
 * itself, and ND4J's default of one per core applies. On a two-core machine
 * that also runs anything else, one thread was measured faster per MiniLM training step than two
 * (0.45–0.57 of the time, side by side; BENCHMARKS.md, "Threads"): OpenMP's second thread
 * busy-waits for a core another process holds. The samples and the {@code finetune} jobs call
 * {@link #limit} with their {@code --threads} option (default 1). Starting the JVM with {@code
 * OMP_NUM_THREADS=1} caps OpenMP for the whole process, and a later {@code limit(2)} cannot undo it.
 */
public final class NativeThreads {

    private NativeThreads() {}

    /**
     * Caps ND4J's native parallelism at {@code threads} for the rest of the process.
     *
     * @throws IllegalArgumentException when {@code threads < 1}
     */
    public static void limit(int threads) {
        split(threads, threads);
    }

    /**
     * Whether ND4J still runs everything on every core, as it does unless someone limited it (this
     * class, {@code OMP_NUM_THREADS}): true only on a machine with more than one core.
     */
    public static boolean atDefaults() {
        int cores = Runtime.getRuntime().availableProcessors();
        return cores > 1 && Nd4j.getEnvironment().maxThreads() >= cores
                && Nd4j.factory().blas().getMaxThreads() >= cores;
    }

    /**
     * The matrix products (oneDNN or OpenBLAS, see {@link Gemm}) on {@code gemmThreads} threads, ND4J's own operations
     * (element-wise, reductions, LayerNorm, softmax: its pool and OpenMP) on {@code opThreads}, for
     * the rest of the process (OpenMP's setting for the calling thread). For one training thread on
     * a multi-core machine, {@code split(cores, 1)} was measured fastest: threaded GEMMs, and
     * element-wise work whose second thread would mostly wait (BENCHMARKS.md, "Data-parallel
     * workers").
     *
     * @throws IllegalArgumentException when either is below 1
     */
    public static void split(int gemmThreads, int opThreads) {
        if (gemmThreads < 1 || opThreads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + Math.min(gemmThreads, opThreads));
        }
        Nd4j.getEnvironment().setMaxThreads(opThreads);
        Nd4j.getEnvironment().setMaxMasterThreads(opThreads);
        Nd4j.factory().blas().setMaxThreads(gemmThreads);
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(opThreads);
        Gemm.threads(gemmThreads, opThreads); // oneDNN's products run on OpenMP too
    }
}
