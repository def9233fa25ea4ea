package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.io.DType;
import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.SafetensorsHeader;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.io.TargetModules;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** {@code lora4j merge} never writes NaN, infinity or an F16 overflow into a checkpoint: exit 2, one line, no output file. */
class MergeNonFiniteTest {

    @TempDir
    Path tmp;

    private Path base(DType dtype) throws Exception {
        Path file = tmp.resolve("base-" + dtype + ".safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.open(file, SafetensorsHeader.builder()
                .tensor("fc.weight", dtype, 4, 3).tensor("fc.bias", DType.F32, 4).build())) {
            w.write("fc.weight", Nd4j.ones(DataType.FLOAT, 4, 3));
            w.write("fc.bias", Nd4j.zeros(DataType.FLOAT, 4));
            w.commit();
        }
        return file;
    }

    /** An adapter as downloaded: written without lora4j's save checks. */
    private Path adapter(String name, INDArray b) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        PeftAdapterConfig.lora(2, 2, TargetModules.names("fc")).write(dir.resolve(PeftAdapterConfig.FILE_NAME));
        SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), Map.of(
                "base_model.model.fc.lora_A.weight", Nd4j.ones(DataType.FLOAT, 2, 3),
                "base_model.model.fc.lora_B.weight", b), Map.of("format", "pt"));
        return dir;
    }

    @Test
    void nanInTheAdapterIsRefused() throws Exception {
        INDArray b = Nd4j.ones(DataType.FLOAT, 4, 2);
        b.putScalar(new long[] {2, 1}, Float.NaN);
        Path out = tmp.resolve("nan-merged.safetensors");
        CliRun run = CliRun.of("merge", "--base", base(DType.F32).toString(), "--adapter", adapter("nan", b).toString(),
                "--out", out.toString());
        assertEquals(ExitCodes.BAD_INPUT, run.exitCode(), run.err());
        assertTrue(run.oneLineError(), run.err());
        assertTrue(run.err().contains("merging adapter module 'fc' into base tensor 'fc.weight' gives 3 NaN or infinite"
                + " values (first: NaN at [2, 0]); refusing to write non-finite weights"), run.err());
        assertFalse(Files.exists(out));
        try (var files = Files.list(tmp)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary file left");
        }
    }

    @Test
    void aMergeThatOverflowsAnF16WeightIsRefused() throws Exception {
        Path out = tmp.resolve("f16-merged.safetensors");
        Files.writeString(out, "previous");
        CliRun run = CliRun.of("merge", "--base", base(DType.F16).toString(), "--adapter",
                adapter("big", Nd4j.valueArrayOf(new long[] {4, 2}, 40000f, DataType.FLOAT)).toString(), "--out", out.toString());
        assertEquals(ExitCodes.BAD_INPUT, run.exitCode(), run.err());
        assertTrue(run.oneLineError(), run.err());
        assertTrue(run.err().contains("gives 12 NaN, infinite or F16-overflowing values (first: 80001.0 at [0, 0])"),
                run.err());
        assertEquals("previous", Files.readString(out), "the old output is untouched");
    }

    @Test
    void aFiniteMergeStillWorks() throws Exception {
        Path out = tmp.resolve("ok.safetensors");
        CliRun run = CliRun.of("merge", "--base", base(DType.F16).toString(), "--adapter",
                adapter("ok", Nd4j.ones(DataType.FLOAT, 4, 2)).toString(), "--out", out.toString());
        assertEquals(ExitCodes.OK, run.exitCode(), run.err());
    }
}
