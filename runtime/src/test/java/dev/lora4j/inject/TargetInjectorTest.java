package dev.lora4j.inject;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.api.BiasMode;
import dev.lora4j.lora.LoraConfig;
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
    void theModelEndsAsWrapLeavesItAndAdoptReportsTheSpecsConfig() {
        Model model = new Model();
        TargetInjector.inject(model, CONFIG, "test");
        long lora = 2 * (6 + 6) + (6 + 4);
        long biases = 6 + 4;
        long head = 4 * 3 + 3;
        assertEquals(lora + biases + head, model.trainableParameterCount(), "adapters, their layers' biases, the head");
        assertFalse(model.norm.parameters().get(0).isTrainable());
        assertSame(CONFIG, TargetInjector.configOf(model).orElseThrow());

        LoraModel<Model> adopted = Lora.adopt(model);
        assertSame(CONFIG, adopted.config(LoraModel.DEFAULT_ADAPTER));
        assertEquals(List.of("head"), List.copyOf(adopted.modulesToSave().keySet()));
        assertEquals(lora + biases + head, model.trainableParameterCount(), "adopting keeps what trains");
        assertEquals(List.of("query", "value"), List.copyOf(adopted.layers().keySet()));
        assertSame(CONFIG, Lora.inject(model).config(LoraModel.DEFAULT_ADAPTER), "inject adopts the same way");
    }

    @Test
    void aModelAdaptedOtherwiseIsDescribedFromItsLayers() {
        Model model = new Model();
        LoraModel.wrap(model, CONFIG);
        assertTrue(TargetInjector.configOf(model).isEmpty());
        LoraConfig described = Lora.adopt(model).config(LoraModel.DEFAULT_ADAPTER);
        assertEquals(List.of("query", "value"), described.targetModules());
        assertEquals(BiasMode.NONE, described.bias());
    }

    @Test
    void targetsThatMatchNothingFailNamingWhoAskedAndTheModulePaths() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TargetInjector.inject(new Model(),
                LoraConfig.builder().targetModules("q_proj").build(), "lora4j agent, lora.json, new Model"));
        assertEquals("lora4j agent, lora.json, new Model: no module matches target_modules [q_proj]; the model's modules "
                + "are [query (Linear), value (Linear), norm (LayerNorm), head (Linear)]", e.getMessage());
    }
}
