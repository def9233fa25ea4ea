package dev.lora4j.lora.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.api.BiasMode;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the agent does for a target spec, and how Lora.adopt takes the result over. */
class TargetInjectorTest {

    static final class Model extends Module {
        final Linear query = new Linear(6, 6);
        final Linear value = new Linear(6, 4);
        final LayerNorm norm = new LayerNorm(4);
        final Linear head = new Linear(4, 3);
    }

    private static final LoraConfig CONFIG = LoraConfig.builder().rank(2).alpha(4).targetModules("query", "value")
            .rankPattern("value", 1).bias(BiasMode.LORA_ONLY).modulesToSave("head").build();

    @Test
    void theModelEndsAsWrapLeavesIt() {
        Model model = new Model();
        LoraModel<Model> injected = TargetInjector.inject(model, CONFIG, "test");
        long lora = 2 * (6 + 6) + (6 + 4);
        long biases = 6 + 4;
        long head = 4 * 3 + 3;
        assertEquals(lora + biases + head, model.trainableParameterCount(), "adapters, their layers' biases, the head");
        assertFalse(model.norm.parameters().get(0).isTrainable());
        assertSame(CONFIG, injected.config(LoraModel.DEFAULT_ADAPTER));
        assertEquals(List.of("query", "value"), List.copyOf(injected.layers().keySet()));
    }

    @Test
    void withoutAnAgentSpecNamingItsClassAnAdoptedModelIsDescribedFromItsLayers() {
        Model model = new Model();
        TargetInjector.inject(model, CONFIG, "test");
        LoraModel<Model> adopted = Lora.adopt(model);
        LoraConfig described = adopted.config(LoraModel.DEFAULT_ADAPTER);
        assertEquals(List.of("query", "value"), described.targetModules());
        assertEquals(BiasMode.NONE, described.bias(), "no spec to take the bias mode from (SelfAttachDoorTest has one)");
    }

    @Test
    void anInvalidTargetIsPrefixedWithWhoAsked() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> TargetInjector.inject(new Model(), LoraConfig.builder().targetModules("kwery").build(), "spec.json"));
        assertTrue(e.getMessage().startsWith("spec.json: "), e.getMessage());
    }

    @Test
    void adoptingWithModulesToSaveTrainsThemAndSavesThemWithTheAdapter() throws Exception {
        Model model = new Model();
        Lora.wrap(model, LoraConfig.builder().rank(2).alpha(4).targetModules("query", "value").build());
        model.freeze();
        LoraLayers.of(model.query).visitParameters((name, p) -> p.setTrainable(true));
        LoraLayers.of(model.value).visitParameters((name, p) -> p.setTrainable(true));
        LoraModel<Model> adopted = Lora.adopt(model, "head");
        long lora = 2 * (6 + 6) + 2 * (6 + 4);
        assertEquals(lora + 4 * 3 + 3, model.trainableParameterCount(), "adapters and the head");
        assertEquals(List.of("head"), adopted.config(LoraModel.DEFAULT_ADAPTER).modulesToSave());
        assertEquals(List.of("head"), List.copyOf(adopted.modulesToSave().keySet()));

        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("adopt-save");
        Lora.save(adopted, dir);
        try (dev.lora4j.io.SafetensorsFile file = dev.lora4j.io.SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
            assertTrue(file.contains("base_model.model.head.weight"));
            assertTrue(file.contains("base_model.model.head.bias"));
            assertTrue(file.contains("base_model.model.query.lora_A.weight"));
            assertEquals(6, file.tensors().size(), "A and B of two layers, the head's weight and bias");
        }
        Model other = new Model();
        Lora.wrap(other, LoraConfig.builder().targetModules("query").build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Lora.adopt(other, "classifier"));
        assertTrue(e.getMessage().startsWith("modules_to_save 'classifier' matches no module of "), e.getMessage());
    }

    @Test
    void targetsThatMatchNothingFailNamingWhoAskedAndTheModulePaths() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TargetInjector.inject(new Model(),
                LoraConfig.builder().targetModules("q_proj").build(), "lora4j agent, lora.json, new Model"));
        assertEquals("lora4j agent, lora.json, new Model: no module matches target_modules [q_proj]; the model's modules "
                + "are [query (Linear), value (Linear), norm (LayerNorm), head (Linear)]", e.getMessage());
    }
}
