package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code lora4j finetune}: options reach the job over its defaults; bad input exits 2 with one line. */
class FinetuneCommandTest {

    @BeforeEach
    void forget() {
        RecordingJob.lastOptions = null;
    }

    @Test
    void listShowsTheJobsOnTheClassPathWithTheirParameters() {
        CliRun run = CliRun.of("finetune", "--list");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("recording  records its options (tests)"), run.out());
        assertTrue(run.out().contains("LoRA r=8 alpha=16 on query/value + head, 3 epochs, batch 32"), run.out());
        assertTrue(run.out().contains("--param max-length=...  tokens per example"), run.out());
        assertNull(RecordingJob.lastOptions, "--list must not run a job");
    }

    @Test
    void optionsGivenReplaceTheDefaultsAndTheRestStay() {
        CliRun run = CliRun.of("finetune", "--model", "recording", "--rank", "4", "--alpha", "8", "--targets",
                "query,key,value", "--epochs", "1", "--max-steps", "20", "--lr", "0.002", "--batch", "16", "--seed", "7",
                "--output", "out/x", "--no-agent", "--param", "max-length=48", "--workers", "3");
        assertEquals(0, run.exitCode(), run.err());
        FineTuneOptions o = RecordingJob.lastOptions;
        assertEquals(new FineTuneOptions(FineTuneMode.LORA, 4, 8, List.of("query", "key", "value"), false, 1, 20, 16,
                0.002, 1, 3, 7, Path.of("out/x"), Map.of("max-length", "48")), o);
        assertTrue(run.out().contains("== recording job ran: LoRA r=4 alpha=8 on query/key/value + head"), run.out());
        assertTrue(run.out().contains("| test accuracy | 0.6250 |"), run.out());
        assertTrue(run.out().contains("| max length | 48 |"), run.out());
        assertTrue(run.out().contains("| whole run | 1m 05s |"), run.out());
    }

    @Test
    void theModeChoosesItsOwnDefaults() {
        CliRun run = CliRun.of("finetune", "--model", "recording", "--mode", "full");
        assertEquals(0, run.exitCode(), run.err());
        assertEquals(FineTuneMode.FULL, RecordingJob.lastOptions.mode());
        assertEquals(5e-5, RecordingJob.lastOptions.learningRate());
        assertEquals(8, RecordingJob.lastOptions.rank());
        assertTrue(RecordingJob.lastOptions.agent());
    }

    @Test
    void anUnknownJobIsBadInputListingTheJobs() {
        CliRun run = CliRun.of("finetune", "--model", "gpt5");
        assertEquals(ExitCodes.BAD_INPUT, run.exitCode());
        assertTrue(run.oneLineError(), run.err());
        assertTrue(run.err().contains("no fine-tuning job 'gpt5'; available: recording"), run.err());
    }

    @Test
    void badValuesAreBadInputNamingTheSetting() {
        CliRun rank = CliRun.of("finetune", "--model", "recording", "--rank", "0");
        assertEquals(ExitCodes.BAD_INPUT, rank.exitCode());
        assertTrue(rank.oneLineError(), rank.err());
        assertTrue(rank.err().contains("rank must be at least 1, got 0"), rank.err());

        CliRun mode = CliRun.of("finetune", "--model", "recording", "--mode", "half");
        assertEquals(ExitCodes.BAD_INPUT, mode.exitCode());
        assertTrue(mode.err().contains("unknown mode 'half'; choose one of head, lora, full"), mode.err());

        CliRun param = CliRun.of("finetune", "--model", "recording", "--param", "depth=3");
        assertEquals(ExitCodes.BAD_INPUT, param.exitCode());
        assertTrue(param.err().contains("job recording has no parameter 'depth'; known: "), param.err());
        assertNull(RecordingJob.lastOptions, "a rejected option must not start the job");

        CliRun notANumber = CliRun.of("finetune", "--model", "recording", "--epochs", "many");
        assertEquals(ExitCodes.USAGE, notANumber.exitCode());
        assertTrue(notANumber.oneLineError(), notANumber.err());
    }

    @Test
    void anOptionTheJobRejectsIsBadInputNamingTheJob() {
        CliRun run = CliRun.of("finetune", "--model", "recording", "--param", "fail=no module 'kwery' in the model");
        assertEquals(ExitCodes.BAD_INPUT, run.exitCode());
        assertTrue(run.oneLineError(), run.err());
        assertTrue(run.err().contains("recording: no module 'kwery' in the model"), run.err());
    }

    @Test
    void sparkIsTheSparkParameterAndAJobWithoutSparkSupportRefusesIt() {
        CliRun run = CliRun.of("finetune", "--model", "recording", "--spark", "local[2]");
        assertEquals(ExitCodes.BAD_INPUT, run.exitCode());
        assertTrue(run.oneLineError(), run.err());
        assertTrue(run.err().contains("job recording has no parameter 'spark'"), run.err());
        assertNull(RecordingJob.lastOptions, "a rejected option must not start the job");

        FineTuneOptions options = new FineTuneOptions(FineTuneMode.LORA, 8, 16, List.of("query"), true, 1, 1, 1, 1e-3,
                1, 0, 1, null, Map.of(FineTuneOptions.SPARK, "local[2]"));
        assertEquals("local[2]", options.spark());
    }

    @Test
    void withoutAJobItIsAUsageError() {
        CliRun run = CliRun.of("finetune");
        assertEquals(ExitCodes.USAGE, run.exitCode());
        assertTrue(run.err().contains("name a job with --model"), run.err());
    }
}
