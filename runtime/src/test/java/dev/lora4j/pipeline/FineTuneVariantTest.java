package dev.lora4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.cli.RecordingJob;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class FineTuneVariantTest {

    private final RecordingJob job = new RecordingJob();
    private final FineTuneOptions base = job.defaults(FineTuneMode.LORA).toBuilder().outputDir(Path.of("out")).build();

    @Test
    void eachFormChangesTheModeRankAndAlphaAndGetsItsOwnDirectory() {
        FineTuneOptions head = FineTuneVariant.parse("head").apply(base, job);
        assertEquals(FineTuneMode.HEAD_ONLY, head.mode());
        assertEquals(job.defaults(FineTuneMode.HEAD_ONLY).learningRate(), head.learningRate());
        assertEquals(Path.of("out", "head"), head.outputDir());

        FineTuneOptions lora4 = FineTuneVariant.parse("LoRA4").apply(base, job);
        assertEquals(4, lora4.rank());
        assertEquals(8.0, lora4.alpha(), "alpha/rank of the base (16/8) kept");
        assertEquals(base.learningRate(), lora4.learningRate(), "same mode, same rate");
        assertEquals(Path.of("out", "lora4"), lora4.outputDir());

        FineTuneOptions given = FineTuneVariant.parse("lora2:16").apply(base, job);
        assertEquals(2, given.rank());
        assertEquals(16.0, given.alpha());
        assertEquals(Path.of("out", "lora2-16"), given.outputDir(), "no colon in a directory name");

        FineTuneOptions dora = FineTuneVariant.parse("dora4").apply(base, job);
        assertEquals(FineTuneMode.DORA, dora.mode());
        assertEquals(4, dora.rank());
        assertEquals(8.0, dora.alpha());
        assertEquals(job.defaults(FineTuneMode.DORA).learningRate(), dora.learningRate());

        FineTuneOptions full = FineTuneVariant.parse("full").apply(base.toBuilder().outputDir(null).build(), job);
        assertEquals(FineTuneMode.FULL, full.mode());
        assertEquals(5e-5, full.learningRate());
        assertEquals(null, full.outputDir(), "no output, none for the variant either");
    }

    @Test
    void badTextAndRepeatsAreNamed() {
        for (String bad : List.of("lora", "lora0", "lora8:", "lora8:x", "half", "")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FineTuneVariant.parse(bad));
            assertTrue(e.getMessage().startsWith("unknown variant '" + bad + "'"), e.getMessage());
        }
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                () -> FineTuneVariant.parseList(List.of("lora8", "head", "LORA8")));
        assertEquals("variant 'lora8' is given twice", twice.getMessage());
    }
}
