package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.GradMode;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.testing.Bitwise;
import dev.lora4j.train.DataParallelTrainingTest.Batch;
import dev.lora4j.testing.DropoutMlp;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class InferenceTest {

    @Test
    void outputsOnTwoWorkersAreTheOneThreadOutputsInOrderInEvaluationMode() {
        DropoutMlp net = DataParallelTrainingTest.model(0.5).model();
        net.train();
        List<Batch> batches = DataParallelTrainingTest.batches(9, 4, 8);
        Set<String> threads = ConcurrentHashMap.newKeySet();
        List<INDArray> spread = Inference.outputs(net, batches, b -> {
            threads.add(Thread.currentThread().getName());
            assertFalse(GradMode.isEnabled(), "grad mode off on every worker");
            return net.forward(Tensor.constant(b.x()));
        }, 2);
        assertTrue(net.isTraining(), "the model's mode is put back");
        List<INDArray> alone = Inference.outputs(net, batches, b -> net.forward(Tensor.constant(b.x())), 1);
        assertEquals(batches.size(), spread.size());
        for (int i = 0; i < batches.size(); i++) {
            assertFalse(spread.get(i).isAttached(), "an output outlives its batch's memory");
            assertTrue(Bitwise.equal(alone.get(i), spread.get(i)), "batch " + i);
        }
        net.eval();
        try (GradMode.Scope off = GradMode.disable()) {
            assertTrue(Bitwise.equal(net.forward(Tensor.constant(batches.get(3).x())).value(), alone.get(3)),
                    "evaluation mode: no dropout");
        }
        assertTrue(threads.size() <= 2, threads.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Inference.outputs(net, batches, b -> net.forward(Tensor.constant(b.x())), -1));
        assertEquals("workers must be >= 1, or 0 (AUTO_WORKERS) for one per core, got -1", e.getMessage());
    }
}
