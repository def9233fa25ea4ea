package dev.lora4j.samples.minilm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.autograd.Functional;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Parameter;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class MiniLmClassifierTest {

    private static final MiniLm.Config TINY = new MiniLm.Config(50, 8, 2, 2, 16, 12, 2, 1e-12, 0.1);
    private static final INDArray IDS = Nd4j.createFromArray(new long[][] {{1, 5, 9, 2, 0}, {1, 7, 3, 4, 2}});
    private static final INDArray MASK = Nd4j.createFromArray(new long[][] {{1, 1, 1, 1, 0}, {1, 1, 1, 1, 1}});

    @Test
    void theEncodersModulesSitAtTheRootBesideTheHead() {
        MiniLmClassifier model = new MiniLmClassifier(MiniLm.random(TINY, 1), 3, new Random(1));
        var paths = model.namedModules().keySet();
        assertTrue(paths.contains("encoder.layer.1.attention.self.query"), paths.toString());
        assertTrue(paths.contains("embeddings.word_embeddings"), paths.toString());
        assertTrue(paths.contains(MiniLmClassifier.HEAD), paths.toString());
        assertTrue(model.namedParameters().containsKey("classifier.weight"));
        assertEquals(MiniLm.random(TINY, 1).parameterCount() + 8 * 3 + 3, model.parameterCount());
        assertArrayEquals(new long[] {2, 3}, model.forward(IDS, MASK).shape());
    }

    @Test
    void modulesToSaveAndTrainHeadBothLeaveTheAdaptersAndTheHeadTrainable() {
        MiniLmClassifier wrapped = new MiniLmClassifier(MiniLm.random(TINY, 1), 3, new Random(1));
        Lora.wrap(wrapped, LoraConfig.builder().rank(2).targetModules("query", "value")
                .modulesToSave(MiniLmClassifier.HEAD).build());

        MiniLmClassifier adopted = new MiniLmClassifier(MiniLm.random(TINY, 1), 3, new Random(1));
        LoraModel<MiniLmClassifier> lora = Lora.inject(adopted); // what the agent does at construction, then adopt
        assertEquals(2L * 2 * (8 * 8 + 8 * 8), lora.summary().trainable(), "adapters only: @LoRA r=8 on q/v of 2 layers");
        assertFalse(adopted.head().weight().isTrainable(), "adopt freezes the head with the rest");
        adopted.trainHead();

        for (MiniLmClassifier model : new MiniLmClassifier[] {wrapped, adopted}) {
            var trainable = model.namedParameters().entrySet().stream().filter(e -> e.getValue().isTrainable())
                    .map(java.util.Map.Entry::getKey).toList();
            assertTrue(trainable.contains("classifier.weight") && trainable.contains("classifier.bias"), trainable.toString());
            assertTrue(trainable.stream().allMatch(n -> n.startsWith("classifier.") || n.contains(".lora_")), trainable.toString());
        }
    }

    @Test
    void gradientsReachTheHeadAndTheAdapters() {
        MiniLmClassifier model = new MiniLmClassifier(MiniLm.random(TINY, 2), 3, new Random(2));
        Lora.wrap(model, LoraConfig.builder().rank(2).targetModules("query", "value")
                .modulesToSave(MiniLmClassifier.HEAD).build());
        model.train();
        Functional.crossEntropy(model.forward(IDS, MASK), new int[] {0, 2}, -100).backward();
        for (var e : model.namedParameters().entrySet()) {
            Parameter p = e.getValue();
            if (e.getKey().contains("lora_B") || e.getKey().startsWith("classifier.")) { // B = 0 at init: A gets no gradient yet
                assertTrue(p.grad() != null && p.grad().amaxNumber().doubleValue() > 0, e.getKey());
            } else if (!p.isTrainable()) {
                assertNull(p.grad(), e.getKey());
            }
        }
    }
}
