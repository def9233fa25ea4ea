package dev.lora4j.samples.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.cli.Main;
import dev.lora4j.pipeline.FineTuneJobs;
import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class GenreFineTuneTest {

    private final GenreFineTune job = new GenreFineTune();

    @Test
    void theJobsDefaultsAreTheAnnotationsThroughTheAgent() {
        FineTuneOptions d = job.defaults(FineTuneMode.LORA);
        assertTrue(d.agent(), "through the agent and MiniLm's @LoRA(rank = 8, alpha = 16) fields");
        assertEquals(8, d.rank());
        assertEquals(16.0, d.alpha());
        assertEquals(List.of("query", "value"), d.targets());
        assertEquals(GenreFineTune.Parameters.DEFAULTS, GenreFineTune.Parameters.of(d));
        assertEquals(64, GenreFineTune.Parameters.of(d).maxLength());
        assertEquals("64", d.parameters().get(GenreFineTune.MAX_LENGTH), "the defaults write every parameter out");
        assertEquals(5e-5, job.defaults(FineTuneMode.FULL).learningRate(), "full fine-tuning's own rate");
        assertEquals(3e-3, job.defaults(FineTuneMode.HEAD_ONLY).learningRate(), "the head's own rate");
    }

    @Test
    void optionsAndParametersReachTheJob() {
        FineTuneOptions s = job.defaults(FineTuneMode.LORA).toBuilder().rank(4)
                .alpha(8).targets(List.of("query", "key", "value")).epochs(5).learningRate(2e-4)
                .outputDir(Path.of("out")).seed(3).agent(false).parameter(GenreFineTune.MAX_LENGTH, "48")
                .parameter(GenreFineTune.TRAIN_PER_CLASS, "20").build();
        assertEquals(new GenreFineTune.Parameters(48, 4, 20, 0), GenreFineTune.Parameters.of(s));
        assertEquals(job.training(s, 75).seed(), 3, "the options' seed reaches the training config");
        assertEquals(5, job.training(s, 75).epochs());
        assertEquals(2e-4, job.training(s, 75).learningRate());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> GenreFineTune.Parameters.of(
                s.toBuilder().parameter(GenreFineTune.MAX_LENGTH, "1").build()));
        assertTrue(bad.getMessage().contains("max-length 1 (at least 2)"), bad.getMessage());
    }

    @Test
    void aParameterThatIsNotANumberIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GenreFineTune.Parameters.of(
                job.defaults(FineTuneMode.LORA).toBuilder().parameter(GenreFineTune.MAX_LENGTH, "long").build()));
        assertEquals("parameter max-length must be an integer, got 'long'", e.getMessage());
    }

    @Test
    void theCommandLineFindsTheJob() {
        assertEquals(GenreFineTune.class, FineTuneJobs.named("minilm-genres").getClass());
        StringWriter out = new StringWriter();
        var cli = Main.commandLine();
        cli.setOut(new PrintWriter(out, true));
        assertEquals(0, cli.execute("finetune", "--list"));
        assertTrue(out.toString().contains("minilm-genres  all-MiniLM-L6-v2"), out.toString());
        assertTrue(out.toString().contains("--param train-per-class=..."), out.toString());
    }
}
