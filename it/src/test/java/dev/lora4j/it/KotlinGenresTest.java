package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.agent.LoraAgent;
import dev.lora4j.io.AdapterFiles;
import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.pipeline.FineTuneReport;
import dev.lora4j.samples.minilm.GenresKotlin;
import dev.lora4j.train.ConsoleProgress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import kotlin.Unit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The main job's Kotlin entry point ({@code samples/src/main/kotlin/.../GenresKotlin.kt}), shortened:
 * the DSL's {@code finetune("minilm-genres") { ... }} finds the job on the class path and runs the
 * whole pipeline (no agent in this JVM and a rank other than the annotations': a {@code LoraConfig}).
 */
class KotlinGenresTest {

    @Test
    void theKotlinCallRunsTheWholePipelineWithItsSettings(@TempDir Path dir) throws Exception {
        assertTrue(LoraAgent.installation().isEmpty(), "no agent in this JVM");
        FineTuneReport report = GenresKotlin.fineTuneGenres(2, 4.0, 1, spec -> {
            spec.setMaxSteps(3L);
            spec.setBatchSize(8);
            spec.setOutputDir(dir);
            spec.param("train-per-class", 4);
            spec.param("eval-per-class", 2);
            spec.param("max-length", 24);
            spec.override(binder -> binder.bind(ConsoleProgress.class).toInstance(
                    new ConsoleProgress(ConsoleProgress.Mode.LINES, Duration.ZERO, System.out)));
            return Unit.INSTANCE;
        });

        assertEquals("minilm-genres", report.job());
        assertEquals("LoRA r=2 alpha=4 on query/value + head", report.options().describe());
        assertEquals(6 * 2 * 2 * (384 + 384) + 384 * 6 + 6, report.trainable(), "r=2 on 12 projections + the head");
        assertEquals(3, report.training().steps());
        assertEquals("LoraConfig", report.adaptersBy());
        assertEquals(1.0, report.merge().agreement(), "merged and unmerged predict the same classes");
        assertTrue(report.merge().maxAbsLogitDiff() < 1e-4, "max |logit diff| " + report.merge().maxAbsLogitDiff());
        assertTrue(Files.size(report.curve()) > 1000, "the curve PNG");

        PeftAdapterConfig config = PeftAdapterConfig.read(report.adapterDir().resolve(PeftAdapterConfig.FILE_NAME));
        assertEquals(2, config.r());
        assertEquals(4.0, config.loraAlpha());
        assertEquals(List.of("classifier"), config.modulesToSave());
        try (SafetensorsFile file = SafetensorsFile.open(report.adapterDir().resolve(AdapterFiles.WEIGHTS_FILE))) {
            assertEquals(12 * 2 + 2, file.tensors().size());
            assertTrue(file.contains("base_model.model.encoder.layer.5.attention.self.value.lora_B.weight"));
        }
        assertTrue(report.table().contains("| test accuracy, merged |"), report.table());
    }
}
