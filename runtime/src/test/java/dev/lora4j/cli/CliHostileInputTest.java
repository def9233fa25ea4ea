package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.io.DType;
import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.SafetensorsHeader;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.io.TargetModules;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The CLI on broken and hostile adapters: truncated or bit-flipped weights, configs with duplicate
 * keys, garbage, broken or catastrophically backtracking regexes, unsupported features. Every run
 * ends with exit code 0 (the damage was harmless) or a user-error code with exactly one line on
 * stderr — never exit code 4 (internal error) and never a stack trace.
 */
class CliHostileInputTest {

    @TempDir
    Path tmp;

    private static final List<String> CONFIGS = List.of(
            "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"fc\"], \"r\": 3}",
            "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"fc\"]} trailing",
            "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": \"(.*f){20}\"}",
            "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"fc\"], \"rank_pattern\": {\"(.*f){25}c\": 2}}",
            "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"fc\"], \"modules_to_save\": [\"(\"]}",
            "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"fc\"], \"use_dora\": true}",
            "{\"peft_type\": \"LORA\", \"r\": 3, \"lora_alpha\": 4, \"target_modules\": [\"fc\"]}",
            "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 1e999, \"target_modules\": [\"fc\"]}",
            "{\"peft_type\": \"LORA\", \"r\": 2, \"target_modules\": " + "[".repeat(10_000) + "]".repeat(10_000) + "}",
            "[]", "", "\u0000");

    @Test
    void brokenAdaptersNeverCrashTheCli() throws Exception {
        Path base = tmp.resolve("base.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.open(base, SafetensorsHeader.builder()
                .tensor("fc.weight", DType.F32, 8, 8).tensor("fc.bias", DType.F32, 8).build())) {
            w.write("fc.weight", Nd4j.rand(DataType.FLOAT, 8, 8));
            w.write("fc.bias", Nd4j.zeros(DataType.FLOAT, 8));
            w.commit();
        }
        Path good = Files.createDirectories(tmp.resolve("good"));
        PeftAdapterConfig.lora(2, 4, TargetModules.names("fc")).write(good.resolve(PeftAdapterConfig.FILE_NAME));
        SafetensorsWriter.write(good.resolve("adapter_model.safetensors"), Map.of(
                "base_model.model.fc.lora_A.weight", Nd4j.rand(DataType.FLOAT, 2, 8),
                "base_model.model.fc.lora_B.weight", Nd4j.rand(DataType.FLOAT, 8, 2)), Map.of("format", "pt"));
        byte[] weights = Files.readAllBytes(good.resolve("adapter_model.safetensors"));
        String config = Files.readString(good.resolve(PeftAdapterConfig.FILE_NAME));

        Random random = new Random(8);
        Map<Integer, Integer> codes = new TreeMap<>();
        int runs = 0;
        for (int i = 0; i < 40 + CONFIGS.size(); i++) {
            Path dir = Files.createDirectories(tmp.resolve("case-" + i));
            byte[] w = weights.clone();
            String c = config;
            if (i < 40) {
                if (random.nextBoolean()) {
                    w = Arrays.copyOf(w, random.nextInt(w.length));
                } else {
                    for (int f = 0; f <= random.nextInt(4); f++) {
                        int at = random.nextInt(Math.min(w.length, 200));
                        w[at] ^= (byte) (1 << random.nextInt(8));
                    }
                }
            } else {
                c = CONFIGS.get(i - 40);
            }
            Files.write(dir.resolve("adapter_model.safetensors"), w);
            Files.writeString(dir.resolve(PeftAdapterConfig.FILE_NAME), c, StandardCharsets.UTF_8);
            for (String[] args : new String[][] {
                {"inspect", dir.toString()},
                {"merge", "--base", base.toString(), "--adapter", dir.toString(), "--out", tmp.resolve("out-" + i).toString()}}) {
                CliRun run = CliRun.of(args);
                runs++;
                codes.merge(run.exitCode(), 1, Integer::sum);
                String what = String.join(" ", args) + " (case " + i + "): exit " + run.exitCode() + ", stderr: " + run.err();
                assertTrue(run.exitCode() == ExitCodes.OK || run.exitCode() == ExitCodes.BAD_INPUT, what);
                if (run.exitCode() != ExitCodes.OK) {
                    assertTrue(run.oneLineError(), what);
                } else {
                    assertEquals("", run.err(), what);
                }
            }
        }
        System.out.println("[cli] " + runs + " runs of inspect/merge on broken adapters; exit codes " + codes
                + "; no stack trace, one stderr line per error");
    }
}
