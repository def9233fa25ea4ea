package dev.lora4j.samples.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.cli.Main;
import dev.lora4j.pipeline.FineTuneJobs;
import dev.lora4j.pipeline.FineTuneMode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class GenreFineTuneTest {

    private final GenresJob job = new GenresJob();

    @Test
    void theJobsDefaultsAreTheAnnotationsThroughTheAgent() {
        GenreFineTune.Settings d = GenreFineTune.Settings.from(job.defaults(FineTuneMode.LORA));
        assertEquals(GenreFineTune.Settings.defaults(), d);
        assertTrue(d.agent() && d.matchesAnnotations());
        assertEquals(List.of("query", "value"), d.targets());
        assertEquals(64, d.maxLength());
        assertEquals(5e-5, job.defaults(FineTuneMode.FULL).learningRate(), "full fine-tuning's own rate");
        assertEquals(3e-3, job.defaults(FineTuneMode.HEAD_ONLY).learningRate(), "the head's own rate");
    }

    @Test
    void optionsAndParametersReachTheSettings() {
        GenreFineTune.Settings s = GenreFineTune.Settings.from(job.defaults(FineTuneMode.LORA).toBuilder().rank(4)
                .alpha(8).targets(List.of("query", "key", "value")).epochs(5).learningRate(2e-4)
                .outputDir(Path.of("out")).seed(3).agent(false).parameter(GenresJob.MAX_LENGTH, "48")
                .parameter(GenresJob.TRAIN_PER_CLASS, "20").build());
        assertEquals(new GenreFineTune.Settings(FineTuneMode.LORA, 4, 8, List.of("query", "key", "value"), false, 5,
                Long.MAX_VALUE, 32, 2e-4, 48, 4, 20, 0, 1, 0, 3, Path.of("out")), s);
        assertFalse(s.matchesAnnotations());
        assertEquals(s, GenreFineTune.Settings.from(s.toOptions()), "settings survive the trip through the options");
    }

    @Test
    void aParameterThatIsNotANumberIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GenreFineTune.Settings.from(
                job.defaults(FineTuneMode.LORA).toBuilder().parameter(GenresJob.MAX_LENGTH, "long").build()));
        assertEquals("parameter max-length must be an integer, got 'long'", e.getMessage());
    }

    @Test
    void theCommandLineFindsTheJob() {
        assertEquals(GenresJob.class, FineTuneJobs.named("minilm-genres").getClass());
        StringWriter out = new StringWriter();
        var cli = Main.commandLine();
        cli.setOut(new PrintWriter(out, true));
        assertEquals(0, cli.execute("finetune", "--list"));
        assertTrue(out.toString().contains("minilm-genres  all-MiniLM-L6-v2"), out.toString());
        assertTrue(out.toString().contains("--param train-per-class=..."), out.toString());
    }
}
