package dev.lora4j.samples.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Linear;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class MiniLmLoraTest {

    private static final long PER_LAYER = 2L * 8 * (384 + 384); // query and value, A [8, 384] + B [384, 8]

    private static final INDArray IDS = Nd4j.createFromArray(new long[][] {
            {101, 7592, 2088, 102, 0, 0},
            {101, 1996, 4248, 2829, 4419, 102}});
    private static final INDArray MASK = Nd4j.createFromArray(new long[][] {
            {1, 1, 1, 1, 0, 0},
            {1, 1, 1, 1, 1, 1}});

    @Test
    void wrappingQueryAndValueAtRankEightTrainsOnlyTheAdapters() {
        MiniLm model = Pretrained.model();
        INDArray before = hidden(model);

        LoraModel<MiniLm> lora = Lora.wrap(model, LoraConfig.builder().rank(8).alpha(16)
                .targetModules("query", "value").build());

        assertEquals(6 * PER_LAYER, model.trainableParameterCount());
        assertEquals(73_728L, model.trainableParameterCount());
        assertEquals(22_565_376L + 73_728L, model.parameterCount());
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            expected.add("encoder.layer." + i + ".attention.self.query");
            expected.add("encoder.layer." + i + ".attention.self.value");
        }
        assertEquals(expected, new ArrayList<>(lora.layers().keySet()),
                "Hugging Face's module paths, so the PEFT keys are base_model.model.<path>.lora_A.weight");
        assertTrue(model.namedParameters().containsKey("encoder.layer.5.attention.self.value.lora_B.default.weight"));

        INDArray after = hidden(model);
        assertEquals(before, after, "B = 0 at init: the adapted model is the base model exactly");
    }

    @Test
    void theAnnotationsAddTheSameAdaptersOnlyWhenInjected() {
        MiniLm model = Pretrained.model();
        Linear query = model.encoder.layer.get(0).attention.self.query;
        assertNull(LoraLayers.of(query), "no agent in this JVM: the annotations alone attach nothing");
        assertEquals(model.parameterCount(), model.trainableParameterCount(), "an unadapted model trains in full");

        LoraModel<MiniLm> lora = Lora.inject(model);

        assertEquals(6 * PER_LAYER, model.trainableParameterCount());
        assertEquals(12, lora.layers().size());
        assertEquals(2.0, LoraLayers.of(query).adapter("default").scaling(), "@LoRA(rank = 8, alpha = 16)");
    }

    @SuppressWarnings("try") // the scope is only opened and closed
    private static INDArray hidden(MiniLm model) {
        try (GradMode.Scope ignored = GradMode.disable()) {
            return model.forward(IDS, MASK).value().dup();
        }
    }
}
