package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Init;
import dev.lora4j.samples.rings.RingClassifier;
import dev.lora4j.samples.rings.RingTask;
import dev.lora4j.samples.rings.RingsFineTune;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The Kotlin sample's model under {@code -javaagent} (the javaagent-door execution): the annotation
 * processor never sees Kotlin sources, and the agent finds the {@code @field:LoRA} fields in the
 * class file as it does for Java classes and adapts them at construction.
 */
class KotlinSampleAgentIT {

    @Test
    void theConstructorAttachesAdaptersToTheFieldLoraLayers() {
        Init.seed(8);
        assertTrue(LoraAgent.installation().isPresent());
        RingClassifier model = new RingClassifier();
        assertEquals(4, LoraLayers.of(model.getFc1()).adapter("default").spec().rank(), "adapted by the constructor");
        assertEquals(4, LoraLayers.of(model.getFc2()).adapter("default").spec().rank());
        assertNull(LoraLayers.of(model.getHead()));
        assertTrue(!model.getFc1().weight().isTrainable() && !model.getFc2().weight().isTrainable(), "adapted layers frozen");
        assertTrue(LoraAgent.installation().orElseThrow().transformedClasses().contains(RingClassifier.class.getName()));

        LoraModel<RingClassifier> lora = Lora.adopt(model);
        assertEquals(List.of("fc1", "fc2"), List.copyOf(lora.layers().keySet()));
        assertEquals(392, model.trainableParameterCount(), "Σ r·(in+out) once adopted: the rest of the base frozen too");
        var training = RingTask.SHIFTED.batches(128, 64, 2);
        double before = RingsFineTune.meanLoss(model, training);
        RingsFineTune.fineTune(lora, training, List.of(), 4);
        double after = RingsFineTune.meanLoss(model, training);
        assertTrue(after < before, "loss falls: " + before + " -> " + after);
    }
}
