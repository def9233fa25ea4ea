package dev.lora4j.samples.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

class GenreFineTuneTest {

    @Test
    void theDefaultsAreTheAnnotationsThroughTheAgent() {
        GenreFineTune.Settings d = GenreFineTune.parse(new String[0]);
        assertEquals(GenreFineTune.Settings.defaults(), d);
        assertTrue(d.agent() && d.matchesAnnotations());
        assertEquals(List.of("query", "value"), d.targets());
        assertEquals(64, d.maxLength());
    }

    @Test
    void optionsOverrideTheDefaults() {
        GenreFineTune.Settings s = GenreFineTune.parse(new String[] {"--rank", "4", "--alpha", "8", "--targets",
                "query,key,value", "--epochs", "5", "--lr", "2e-4", "--output", "out", "--seed", "3", "--no-agent"});
        assertEquals(4, s.rank());
        assertEquals(8.0, s.alpha());
        assertEquals(List.of("query", "key", "value"), s.targets());
        assertEquals(5, s.epochs());
        assertEquals(2e-4, s.learningRate());
        assertEquals(Path.of("out"), s.outputDir());
        assertEquals(3, s.seed());
        assertFalse(s.agent() || s.matchesAnnotations());
        assertEquals(10, GenreFineTune.parse(new String[] {"--full"}).epochs());
        assertEquals(5e-5, GenreFineTune.parse(new String[] {"--mode", "full"}).learningRate(), "full fine-tuning's own rate");
        assertNull(GenreFineTune.parse(new String[] {"--help"}));
    }

    @Test
    void badOptionsAreNamed() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GenreFineTune.parse(new String[] {"--rank", "x"}))
                .getMessage().contains("--rank"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GenreFineTune.parse(new String[] {"--bogus", "1"}))
                .getMessage().contains("--bogus"));
        assertThrows(IllegalArgumentException.class, () -> GenreFineTune.parse(new String[] {"--epochs", "0"}));
    }

    @Test
    void accuracyAndAgreementCountArgMaxes() {
        var a = Nd4j.createFromArray(new float[][] {{1, 0}, {0, 1}, {2, 1}});
        var b = Nd4j.createFromArray(new float[][] {{1, 0}, {1, 0}, {2, 1}});
        assertEquals(2.0 / 3, GenreFineTune.accuracy(a, new int[] {0, 1, 1}), 1e-12);
        assertEquals(2.0 / 3, GenreFineTune.agreement(a, b), 1e-12);
    }
}
