package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.NativeThreads;
import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.train.DataParallelTrainingTest.Batch;
import dev.lora4j.testing.DropoutMlp;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A one-worker run left at ND4J's defaults runs its GEMMs on every core and the rest on one thread
 * (the fastest setting measured; ND4J's default of everything on every core was slower than one
 * thread). Runs in its own surefire execution, without the {@code OMP_NUM_THREADS=1} of the others,
 * so that ND4J starts at its defaults.
 */
class DefaultThreadsTest {

    @Test
    void aOneWorkerRunLeftAtNd4jsDefaultsRunsItsGemmsOnEveryCoreAndTheRestOnOne() {
        int cores = Runtime.getRuntime().availableProcessors();
        Assumptions.assumeTrue(cores > 1, "needs more than one core");
        assertTrue(NativeThreads.atDefaults(), "ND4J starts on every core: env " + Nd4j.getEnvironment().maxThreads()
                + ", BLAS " + Nd4j.factory().blas().getMaxThreads());
        DropoutMlp net = DataParallelTrainingTest.model(0.0).model();
        TrainingTask<Batch> unsliceable = TrainingTask.of(
                b -> Functional.mse(net.forward(Tensor.constant(b.x())), Tensor.constant(b.y())), Batch::size);
        try {
            DataParallelTrainingTest.trainer(DataParallelTrainingTest.config(TrainingConfig.AUTO_WORKERS).epochs(1).build())
                    .fit(net, DataParallelTrainingTest.batches(2, 4, 1), unsliceable);
            assertEquals(cores, Nd4j.factory().blas().getMaxThreads(), "the GEMMs on every core");
            // (libnd4j ignores setMaxThreads; its ops follow the master-thread count and OpenMP)
            assertEquals(1, Nd4j.getEnvironment().maxMasterThreads(), "ND4J's own ops on one thread");

            NativeThreads.limit(cores);
            DataParallelTrainingTest.trainer(DataParallelTrainingTest.config(1).epochs(1).build())
                    .fit(net, DataParallelTrainingTest.batches(2, 4, 1), unsliceable);
            assertEquals(cores, Nd4j.getEnvironment().maxMasterThreads(), "an explicit worker count leaves them");

            NativeThreads.limit(1);
            DataParallelTrainingTest.trainer(DataParallelTrainingTest.config(TrainingConfig.AUTO_WORKERS).epochs(1).build())
                    .fit(net, DataParallelTrainingTest.batches(2, 4, 1), unsliceable);
            assertEquals(1, Nd4j.factory().blas().getMaxThreads(), "a limit someone set is kept");
        } finally {
            NativeThreads.limit(1);
        }
    }
}
