package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.lora.LoraAdapter;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Linear;
import dev.lora4j.samples.rings.RingBatch;
import dev.lora4j.samples.rings.RingClassifier;
import dev.lora4j.samples.rings.RingTask;
import dev.lora4j.samples.rings.RingsFineTune;
import dev.lora4j.train.TrainingResult;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The Kotlin sample ({@code samples/src/main/kotlin}, compiled by kotlin-maven-plugin): its model's
 * {@code @field:LoRA} layers adapted through {@code Lora.inject} (no agent in this JVM), trained with
 * the sample's own DSL blocks, merged.
 */
class KotlinSampleTest {

    static final int RANK = 4;
    static final int HIDDEN = 32;

    @BeforeEach
    void seed() {
        Init.seed(21);
    }

    /** A model pretrained briefly on the centred disc, as the sample's main does. */
    static RingClassifier pretrained() {
        RingClassifier model = new RingClassifier();
        RingsFineTune.pretrain(model, RingTask.CENTERED.batches(256, 64, 1), 4);
        return model;
    }

    @Test
    void injectPutsAdaptersExactlyOnTheFieldLoraLayers() {
        assertTrue(LoraAgent.installation().isEmpty(), "no agent in this JVM");
        RingClassifier model = new RingClassifier();
        assertNull(LoraLayers.of(model.getFc1()), "no adapters before inject");
        LoraModel<RingClassifier> lora = Lora.inject(model);
        assertEquals(List.of("fc1", "fc2"), List.copyOf(lora.layers().keySet()));
        for (Linear layer : List.of(model.getFc1(), model.getFc2())) {
            LoraAdapter adapter = LoraLayers.of(layer).adapter(LoraModel.DEFAULT_ADAPTER);
            assertEquals(RANK, adapter.spec().rank());
            assertEquals(2.0, adapter.scaling(), 1e-12, "alpha 8 / rank 4");
        }
        assertNull(LoraLayers.of(model.getHead()), "the head is not annotated");
        long expected = (long) RANK * (2 + HIDDEN) + (long) RANK * (HIDDEN + HIDDEN);
        assertEquals(392, expected);
        assertEquals(expected, model.trainableParameterCount(), "Σ r·(in+out)");
        assertEquals(expected, lora.summary().trainable());
    }

    @Test
    void fineTuningWithTheKotlinDslLowersTheLossAndLeavesTheBaseUnchanged() {
        RingClassifier model = pretrained();
        LoraModel<RingClassifier> lora = Lora.inject(model);
        Map<String, float[]> frozen = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> {
            if (!p.isTrainable()) {
                frozen.put(name, p.value().dup().ravel().toFloatVector());
            }
        });
        List<RingBatch> training = RingTask.SHIFTED.batches(256, 64, 2);
        List<RingBatch> heldOut = RingTask.SHIFTED.batches(256, 256, 3);
        double before = RingsFineTune.meanLoss(model, heldOut);
        TrainingResult result = RingsFineTune.fineTune(lora, training, heldOut, 5);
        double after = RingsFineTune.meanLoss(model, heldOut);
        assertEquals(20, result.steps());
        assertEquals(5, result.evaluations().size(), "validation every epoch, as the block says");
        assertTrue(after < 0.9 * before, "held-out loss falls: " + before + " -> " + after);
        frozen.forEach((name, values) ->
                assertArrayEquals(values, model.namedParameters().get(name).value().dup().ravel().toFloatVector(), name));
    }

    @Test
    void mergedAndUnmergedOutputsAgreeAfterTraining() {
        RingClassifier model = pretrained();
        LoraModel<RingClassifier> lora = Lora.inject(model);
        RingsFineTune.fineTune(lora, RingTask.SHIFTED.batches(128, 64, 2), List.of(), 2);
        INDArray points = RingTask.SHIFTED.batches(64, 64, 5).get(0).getPoints();
        INDArray unmerged = model.forward(points).value().dup();
        lora.merge();
        double difference = Nd4j.math().abs(model.forward(points).value().sub(unmerged)).maxNumber().doubleValue();
        assertTrue(difference < 1e-5, "max |merged - unmerged| = " + difference);
    }

    @Test
    void aKotlinBlockWithReceiverPlacesAdaptersByTarget() {
        RingClassifier model = new RingClassifier();
        LoraModel<RingClassifier> lora = RingsFineTune.targetedLora(model); // lora(model) { rank = 2; alpha = 4.0; targets("fc2", "head") }
        assertEquals(List.of("fc2", "head"), List.copyOf(lora.layers().keySet()));
        assertEquals(2 * (HIDDEN + HIDDEN) + 2 * (HIDDEN + 2), model.trainableParameterCount());
        assertEquals(2.0, LoraLayers.of(model.getHead()).adapter("default").scaling(), 1e-12);
        assertNull(LoraLayers.of(model.getFc1()), "annotations play no part on this path");
    }
}
