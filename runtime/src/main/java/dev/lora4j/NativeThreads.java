package dev.lora4j;

import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * The number of threads ND4J's native code uses: its own pool, OpenMP and OpenBLAS.
 *
 * <p>lora4j sets none by itself, so ND4J's default of one per core applies. On a two-core machine
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
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        Nd4j.factory().blas().setMaxThreads(threads);
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
    }
}
