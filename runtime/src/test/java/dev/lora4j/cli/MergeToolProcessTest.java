package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.io.DType;
import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.SafetensorsHeader;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.io.TargetModules;
import dev.lora4j.io.internal.HalfFloats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lora4j merge} in its own JVM, as users run it: it never loads a class of ND4J (whose
 * native start-up alone takes about a second), and with a 32 MB heap it merges a 64 MB weight, so
 * no tensor is ever held whole.
 */
class MergeToolProcessTest {

    private static final int ROWS = 4096;
    private static final int COLS = 4096;
    private static final int RANK = 4;

    @TempDir
    Path tmp;

    private static float weight(int i) {
        return ((i * 7919) % 2001 - 1000) * 1e-3f;
    }

    private static float factorA(int i) {
        return ((i * 31) % 17 - 8) * 0.01f;
    }

    private static float factorB(int i) {
        return ((i * 13) % 11 - 5) * 0.02f;
    }

    private static ByteBuffer floats(int n, java.util.function.IntUnaryOperator bits) {
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putInt(bits.applyAsInt(i));
        }
        return b.flip();
    }

    @Test
    void mergesATensorLargerThanTheHeapWithoutLoadingNd4j() throws Exception {
        Path base = tmp.resolve("base.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.open(base, SafetensorsHeader.builder().metadata("format", "pt")
                .tensor("model.big.weight", DType.F32, ROWS, COLS)
                .tensor("model.embed.weight", DType.F16, 50, 8)
                .tensor("model.ids", DType.I64, 3)
                .tensor("model.head.weight", DType.BF16, 2, 8)
                .build())) {
            w.write("model.big.weight", floats(ROWS * COLS, i -> Float.floatToRawIntBits(weight(i))));
            ByteBuffer embed = ByteBuffer.allocate(2 * 400).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 400; i++) {
                embed.putShort(HalfFloats.floatToF16(weight(i)));
            }
            w.write("model.embed.weight", embed.flip());
            w.write("model.ids", ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putLong(1).putLong(2).putLong(3).flip());
            w.write("model.head.weight", ByteBuffer.allocate(32));
            w.commit();
        }
        Path adapter = Files.createDirectories(tmp.resolve("adapter"));
        String p = "base_model.model.";
        try (SafetensorsWriter w = SafetensorsWriter.open(adapter.resolve("adapter_model.safetensors"),
                SafetensorsHeader.builder()
                        .tensor(p + "model.big.lora_A.weight", DType.F32, RANK, COLS)
                        .tensor(p + "model.big.lora_B.weight", DType.F32, ROWS, RANK)
                        .tensor(p + "model.embed.lora_embedding_A", DType.F32, RANK, 50)
                        .tensor(p + "model.embed.lora_embedding_B", DType.F32, 8, RANK)
                        .tensor(p + "model.head.weight", DType.F32, 2, 8)
                        .build())) {
            w.write(p + "model.big.lora_A.weight", floats(RANK * COLS, i -> Float.floatToRawIntBits(factorA(i))));
            w.write(p + "model.big.lora_B.weight", floats(ROWS * RANK, i -> Float.floatToRawIntBits(factorB(i))));
            w.write(p + "model.embed.lora_embedding_A", floats(RANK * 50, i -> Float.floatToRawIntBits(factorA(i))));
            w.write(p + "model.embed.lora_embedding_B", floats(8 * RANK, i -> Float.floatToRawIntBits(factorB(i))));
            w.write(p + "model.head.weight", floats(16, i -> Float.floatToRawIntBits(i * 0.25f)));
            w.commit();
        }
        PeftAdapterConfig.lora(RANK, 8, TargetModules.names("model.big", "model.embed"))
                .write(adapter.resolve(PeftAdapterConfig.FILE_NAME));

        Path out = tmp.resolve("merged.safetensors");
        Path classLog = tmp.resolve("classes.log");
        Path console = tmp.resolve("console.txt");
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx32m", "-Xlog:class+load=info:file=" + classLog, "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "merge", "--base", base.toString(), "--adapter", adapter.toString(),
                "--out", out.toString());
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(console.toFile()).start();
        assertTrue(process.waitFor(2, TimeUnit.MINUTES), "the merge finishes");
        String output = Files.readString(console, StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), output);
        assertTrue(output.startsWith("merged 2 LoRA modules, replaced 1 tensors, added 0, copied 1 unchanged"), output);

        List<String> loaded = Files.readAllLines(classLog, StandardCharsets.UTF_8);
        assertTrue(loaded.stream().anyMatch(l -> l.contains(" dev.lora4j.io.CheckpointMerger ")), "the log lists classes");
        List<String> nd4j = loaded.stream().filter(l -> l.contains(" org.nd4j.") || l.contains(" org.bytedeco."))
                .collect(Collectors.toList());
        assertEquals(List.of(), nd4j, "the merge path must not load ND4J");

        double scaling = 8.0 / RANK;
        try (SafetensorsFile merged = SafetensorsFile.open(out)) {
            ByteBuffer big = merged.rawBytes("model.big.weight");
            for (int row : new int[] {0, 1, 2047, ROWS - 1}) {
                for (int col : new int[] {0, 5, 1000, COLS - 1}) {
                    double delta = 0;
                    for (int k = 0; k < RANK; k++) {
                        delta += (double) factorB(row * RANK + k) * factorA(k * COLS + col);
                    }
                    double expected = weight(row * COLS + col) + scaling * delta;
                    float got = big.getFloat(4 * (row * COLS + col));
                    assertEquals(expected, got, 1e-6, "model.big.weight[" + row + ", " + col + "]");
                }
            }
            assertEquals(Map.of("format", "pt"), merged.metadata());
            assertEquals(HalfFloats.floatToBf16(0.25f * 9), merged.rawBytes("model.head.weight").getShort(18));
        }
    }
}
