package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.nn.Init;
import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.TinyTransformer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Each adapter's own copy of its modules_to_save; other adapters see the original, frozen. */
class ModulesToSaveTest {

    @Test
    void onlyTheAdaptersThatListAModuleHaveACopyOfIt() {
        Init.seed(5);
        TinyTransformer model = new TinyTransformer(10, 16, 2, 1, 8);
        Parameter head = model.namedParameters().get("head.weight");
        INDArray original = head.value().dup();
        LoraModel<TinyTransformer> lora = LoraModel.wrap(model, "a",
                LoraConfig.builder().rank(2).targetModules("query").modulesToSave("head").build());
        lora.addAdapter("b", LoraConfig.builder().rank(2).targetModules("value").build());
        assertEquals(List.of("head"), lora.modulesToSave("a"));
        assertEquals(List.of(), lora.modulesToSave("b"));

        assertTrue(head.isTrainable());
        head.value().addi(1.0); // "training" under a
        INDArray trainedA = head.value().dup();

        lora.setActiveAdapters("b");
        assertEquals(original, head.value(), "b does not list head: the original weights");
        assertFalse(head.isTrainable(), "and they are frozen");
        assertEquals(trainedA, lora.moduleToSaveValues("a", "head").get("weight"));
        assertEquals(original, lora.moduleToSaveValues("b", "head").get("weight"));
        assertThrows(IllegalArgumentException.class,
                () -> lora.setModuleToSaveValues("b", "head", Map.of("weight", original, "bias", original)));

        lora.setActiveAdapters("a");
        assertEquals(trainedA, head.value());
        assertTrue(head.isTrainable());

        lora.deleteAdapter("a");
        assertEquals(original, head.value(), "deleting the live adapter restores the original weights");
        lora.setActiveAdapters("b");
        assertNotEquals(trainedA, head.value());
        assertEquals(original, head.value());
    }
}
