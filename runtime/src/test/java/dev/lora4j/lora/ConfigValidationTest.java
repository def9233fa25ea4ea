package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.LoraInit;
import dev.lora4j.train.TrainingConfig;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Invalid settings fail when built, with one line naming the field and the value. */
class ConfigValidationTest {

    private static void rejects(Supplier<?> build, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build::get);
        assertEquals(message, e.getMessage());
        assertTrue(e.getMessage().indexOf('\n') < 0);
    }

    private static LoraConfig.Builder valid() {
        return LoraConfig.builder().targetModules("q");
    }

    @Test
    void loraConfigNamesTheField() {
        rejects(() -> valid().rank(0).build(), "LoRA rank must be at least 1, got 0");
        rejects(() -> valid().rank(-3).build(), "LoRA rank must be at least 1, got -3");
        rejects(() -> valid().alpha(0).build(), "LoRA alpha must be positive and finite, got 0.0");
        rejects(() -> valid().alpha(-1).build(), "LoRA alpha must be positive and finite, got -1.0");
        rejects(() -> valid().alpha(Double.POSITIVE_INFINITY).build(), "LoRA alpha must be positive and finite, got Infinity");
        rejects(() -> valid().dropout(1.0).build(), "LoRA dropout must be in [0, 1), got 1.0");
        rejects(() -> valid().dropout(-0.1).build(), "LoRA dropout must be in [0, 1), got -0.1");
        rejects(() -> valid().dropout(Double.NaN).build(), "LoRA dropout must be in [0, 1), got NaN");
        rejects(() -> valid().init(null).build(), "LoRA init must be set");
        rejects(() -> valid().rankPattern("q", 0).build(), "rank_pattern['q'] must be at least 1, got 0");
        rejects(() -> valid().alphaPattern("q", -2.0).build(), "alpha_pattern['q'] must be positive, got -2.0");
        rejects(() -> valid().rankPattern("q(", 2).build(),
                "rank_pattern 'q(' is not a valid regular expression: Unclosed group");
        rejects(() -> LoraConfig.builder().build(),
                "target_modules is empty: name the layers to adapt, e.g. targetModules(\"q\", \"v\")");
        rejects(() -> LoraConfig.builder().targetModules("q", " ").build(), "target_modules contains an empty name");
        rejects(() -> LoraConfig.builder().targetRegex("[").build(),
                "target regex '[' is not a valid regular expression: Unclosed character class");
    }

    @Test
    void adapterSpecNamesTheField() {
        rejects(() -> new AdapterSettings(0, 1, 0, false, LoraInit.GAUSSIAN), "LoRA rank must be at least 1, got 0");
        rejects(() -> new AdapterSettings(1, Double.NaN, 0, false, LoraInit.GAUSSIAN), "LoRA alpha must be positive and finite, got NaN");
        rejects(() -> new AdapterSettings(1, 1, 1.5, false, LoraInit.GAUSSIAN), "LoRA dropout must be in [0, 1), got 1.5");
    }

    @Test
    void trainingConfigCheckpointFields() {
        rejects(() -> TrainingConfig.builder().checkpointEvery(-1, Path.of("x")).build(),
                "TrainingConfig.checkpointEverySteps must be >= 0, got -1");
        rejects(() -> TrainingConfig.builder().checkpointEvery(5, null).build(),
                "TrainingConfig.checkpointDirectory must be set when checkpointEverySteps > 0, got null");
    }
}
