package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import java.nio.file.Files;
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
    void optionsGivenReplaceTheDefaultsAndTheRestStay() throws Exception {
        CliRun run = CliRun.of("finetune", "--model", "recording", "--rank", "4", "--alpha", "8", "--targets",
                "query,key,value", "--epochs", "1", "--max-steps", "20", "--lr", "0.002", "--batch", "16", "--seed", "7",
                "--output", "target/command-test/x", "--no-agent", "--param", "max-length=48", "--workers", "3");
        assertEquals(0, run.exitCode(), run.err());
        FineTuneOptions o = RecordingJob.lastOptions;
        assertEquals(new FineTuneOptions(FineTuneMode.LORA, 4, 8, List.of("query", "key", "value"), false, 1, 20, 16,
                0.002, 1, 3, 7, Path.of("target/command-test/x"), Map.of("max-length", "48")), o);
        assertTrue(run.out().contains("== recording: LoRA r=4 alpha=8 on query/key/value + head"), run.out());
        assertTrue(run.out().contains("| steps | 4 (COMPLETED"), "one epoch of 64 examples in batches of 16: " + run.out());
        assertTrue(run.out().contains("| max length | 48 |"), "the job's own line: " + run.out());
        assertTrue(run.out().contains("| adapters put on by | LoraConfig |"), run.out());
        assertTrue(run.out().contains("| merged = unmerged predictions | 100.00%"), run.out());
        assertTrue(Files.isRegularFile(Path.of("target/command-test/x/adapter/adapter_config.json")), "the adapter");
        assertTrue(Files.size(Path.of("target/command-test/x/curve.png")) > 1000, "the curves");
    }

    @Test
    void variantsRunTheJobOncePerVariantIntoSubdirectoriesAndCompareThem() throws Exception {
        CliRun run = CliRun.of("finetune", "--model", "recording", "--variants", "head,lora2,lora4:4,full",
                "--max-steps", "3", "--output", "target/command-test/sweep");
        assertEquals(0, run.exitCode(), run.err());
        String out = run.out();
        assertTrue(out.contains("| setting | trainable params | test accuracy |"), out);
        assertTrue(out.contains("| frozen network + trained head | 10 of 70 (14.29%) |"), "the head alone: " + out);
        assertTrue(out.contains("| LoRA r=2 alpha=4 on query/value + head |"), "alpha kept at 2 x rank: " + out);
        assertTrue(out.contains("| LoRA r=4 alpha=4 on query/value + head |"), "alpha given: " + out);
        assertTrue(out.contains("| full fine-tuning (all weights) | 70 of 70 (100.00%) |"), out);
        Path sweep = Path.of("target/command-test/sweep");
        assertTrue(Files.isRegularFile(sweep.resolve("lora2/adapter/adapter_model.safetensors")));
        assertTrue(Files.isRegularFile(sweep.resolve("lora4-4/curve.png")));
        assertTrue(Files.notExists(sweep.resolve("head/adapter")), "no adapter without LoRA");
        assertEquals(5e-5, RecordingJob.lastOptions.learningRate(), "full fine-tuning at its own default rate");

        CliRun bad = CliRun.of("finetune", "--model", "recording", "--variants", "lora,full");
        assertEquals(ExitCodes.BAD_INPUT, bad.exitCode());
        assertTrue(bad.err().contains("unknown variant 'lora'; use head, full, lora<rank>"), bad.err());
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
        assertTrue(mode.err().contains("unknown mode 'half'; choose one of head, lora, dora, full"), mode.err());

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
