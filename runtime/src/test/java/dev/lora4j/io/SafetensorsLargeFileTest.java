package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Offsets beyond 2 GiB, using a sparse file so that the test writes only a few bytes: the file is
 * 2.6 GB long but holds almost nothing but a hole.
 */
class SafetensorsLargeFileTest {

    private static final Set<String> SPARSE_FILE_SYSTEMS = Set.of("ext4", "xfs", "btrfs", "tmpfs", "zfs", "apfs", "overlay");

    @TempDir
    Path dir;

    @Test
    void tensorsPastTwoGigabytesAreMappedOnDemand() throws IOException {
        String store = Files.getFileStore(dir).type().toLowerCase(Locale.ROOT);
        Assumptions.assumeTrue(SPARSE_FILE_SYSTEMS.contains(store), "needs sparse files, " + store + " may not have them");
        long hugeBytes = 2_200_000_000L;
        long tailAt = 2_600_000_000L;
        String header = "{\"huge\":{\"dtype\":\"U8\",\"shape\":[" + hugeBytes + "],\"data_offsets\":[0," + hugeBytes + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[" + tailAt + "," + (tailAt + 16) + "]}}";
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("big.safetensors");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer prefix = ByteBuffer.allocate(8 + json.length).order(ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(json.length).put(json).flip();
            ch.write(prefix, 0);
            ByteBuffer tail = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            tail.putFloat(1.5f).putFloat(-2f).putFloat(3.25f).putFloat(4f).flip();
            ch.write(tail, 8 + json.length + tailAt); // everything before is a hole
        }
        assertTrue(Files.size(file) > 2_600_000_000L);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(tailAt, f.info("tail").begin());
            assertArrayEquals(new float[] {1.5f, -2f, 3.25f, 4f}, f.read("tail").data().asFloat());
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.rawBytes("huge"));
            assertEquals(file + ": tensor 'huge' is 2200000000 bytes; tensors of 2 GiB or more cannot be mapped",
                    e.getMessage());
        }
    }
}
