package dev.lora4j.io;

import dev.lora4j.Lora;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.LoraInit;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Adapters holding NaN or infinity are never written: the save fails naming the tensor, the directory keeps its adapter. */
class NonFiniteWeightsTest {

    static final class Net extends Module {
        final Linear fc = new Linear(3, 4, true, new Random(1));
        final Linear out = new Linear(4, 2, true, new Random(2));
    }

    @TempDir
    Path dir;

    private static LoraModel<Net> model() {
        Init.seed(3);
        return Lora.wrap(new Net(), LoraConfig.builder().rank(2).alpha(4).targetModules("fc", "out")
                .init(LoraInit.RANDOM).seed(9).build());
    }

    @Test
    void saveRefusesNaNAndNamesTheTensorAndTheFirstBadValue() throws IOException {
        LoraModel<Net> lora = model();
        lora.layers().get("out").adapter("default").b().value().putScalar(new long[] {1, 0}, Double.NaN);
        lora.layers().get("out").adapter("default").b().value().putScalar(new long[] {1, 1}, Double.NaN);
        NonFiniteWeightsException e = assertThrows(NonFiniteWeightsException.class, () -> Lora.save(lora, dir));
        assertEquals("refusing to save adapter 'default' to " + dir + ": tensor 'base_model.model.out.lora_B.weight'"
                + " holds 2 NaN or infinite values (first: NaN at [1, 0]); nothing was written", e.getMessage());
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count(), "nothing written, no staged files left");
        }
    }

    @Test
    void saveRefusesInfinityAndKeepsThePreviousAdapter() throws IOException {
        LoraModel<Net> lora = model();
        Lora.save(lora, dir);
        byte[] before = Files.readAllBytes(dir.resolve(AdapterFiles.WEIGHTS_FILE));
        lora.layers().get("fc").adapter("default").a().value().putScalar(new long[] {0, 2}, Double.NEGATIVE_INFINITY);
        NonFiniteWeightsException e = assertThrows(NonFiniteWeightsException.class, () -> Lora.save(lora, dir));
        assertTrue(e.getMessage().contains("tensor 'base_model.model.fc.lora_A.weight' holds 1 NaN or infinite values"
                + " (first: -Infinity at [0, 2])"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(dir.resolve(AdapterFiles.WEIGHTS_FILE)), "old adapter intact");
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "only the two adapter files");
        }
    }

    @Test
    void aKilledSavesStagedFilesAreRemovedByTheNextSave() throws IOException {
        LoraModel<Net> lora = model();
        Files.createDirectories(dir);
        Path staged = Files.writeString(dir.resolve(".adapter_model.safetensors.staged-abc"), "partial");
        Path tmp = Files.writeString(dir.resolve("..adapter_config.json.staged-abc.tmp-def"), "partial");
        Path unrelated = Files.writeString(dir.resolve("notes.txt"), "mine");
        Lora.save(lora, dir);
        assertFalse(Files.exists(staged));
        assertFalse(Files.exists(tmp));
        assertTrue(Files.exists(unrelated));
        Lora.load(new Net(), dir);
    }
}
