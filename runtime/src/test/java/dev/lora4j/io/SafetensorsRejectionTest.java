package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** Every malformed file is refused at open time with a one-line message naming file and tensor. */
class SafetensorsRejectionTest {

    @TempDir
    Path dir;

    /** Writes {@code content}, opens it, and returns the message after checking its shape. */
    private String rejects(byte[] content, String... fragments) throws IOException {
        Path file = RawSafetensors.write(dir, "model.safetensors", content);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(file).close());
        String message = e.getMessage();
        assertTrue(message.startsWith(file + ": "), message);
        assertFalse(message.contains("\n"), "one line: " + message);
        for (String fragment : fragments) {
            assertTrue(message.contains(fragment), "expected '" + fragment + "' in: " + message);
        }
        return message;
    }

    @Test
    void truncatedBody() throws IOException {
        Path good = dir.resolve("good.safetensors");
        SafetensorsWriter.write(good, Map.of("w", Nd4j.create(new float[8], new long[] {2, 4}, DataType.FLOAT)), null);
        byte[] all = Files.readAllBytes(good);
        rejects(Arrays.copyOf(all, all.length - 5),
                "tensor 'w'", "data_offsets [0, 32]", "past the end of the data section (27 bytes)", "truncated");
    }

    @Test
    void overlappingOffsets() throws IOException {
        rejects(RawSafetensors.build("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24),
                "tensors 'a' [0, 16) and 'b' [8, 24) overlap");
    }

    @Test
    void overlapIsFoundWhateverTheHeaderOrder() throws IOException {
        rejects(RawSafetensors.build("{\"late\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[10,12]},"
                        + "\"wide\":{\"dtype\":\"U8\",\"shape\":[12],\"data_offsets\":[0,12]},"
                        + "\"empty\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[5,5]}}", 12),
                "'wide' [0, 12) and 'late' [10, 12) overlap");
    }

    @Test
    void headerLengthPastEndOfFile() throws IOException {
        rejects(RawSafetensors.withLength(1000, "{}".getBytes()),
                "header length 1000 bytes runs past the end of the file (2 bytes follow the length)");
    }

    @Test
    void negativeHeaderLength() throws IOException {
        rejects(RawSafetensors.withLength(-1, "{}".getBytes()),
                "header length 18446744073709551615 bytes exceeds the 100000000-byte limit");
    }

    @Test
    void hugeHeaderLength() throws IOException {
        rejects(RawSafetensors.withLength(100_000_001L, "{}".getBytes()), "header length 100000001 bytes exceeds");
    }

    @Test
    void fileTooShortForTheLength() throws IOException {
        rejects(new byte[] {2, 0, 0}, "file is 3 bytes, too short");
    }

    @Test
    void shapeAndByteCountMismatch() throws IOException {
        String message = rejects(RawSafetensors.build(
                "{\"a.weight\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[0,60]}}", 60));
        assertTrue(message.endsWith(": tensor 'a.weight' has shape [4, 4] (16 × F32 = 64 bytes) but data_offsets span 60 bytes"),
                message);
    }

    @Test
    void unknownDtype() throws IOException {
        rejects(RawSafetensors.build("{\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2),
                "tensor 'q' has unknown dtype 'F8_E4M3'", "supported: F64, F32, F16, BF16");
    }

    @Test
    void dtypeOfTheWrongType() throws IOException {
        rejects(RawSafetensors.build("{\"q\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
                "tensor 'q' needs a string 'dtype', found number 4");
    }

    @Test
    void offsetsPastTheDataEnd() throws IOException {
        rejects(RawSafetensors.build("{\"far\":{\"dtype\":\"I16\",\"shape\":[3],\"data_offsets\":[100,106]}}", 16),
                "tensor 'far' has data_offsets [100, 106] past the end of the data section (16 bytes)");
    }

    @Test
    void beginAfterEnd() throws IOException {
        rejects(RawSafetensors.build("{\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8),
                "tensor 'z' has data_offsets [8, 4] with begin after end");
    }

    @Test
    void offsetsThatAreNotAPairOfNaturalNumbers() throws IOException {
        rejects(RawSafetensors.build("{\"z\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 1),
                "tensor 'z' needs 'data_offsets' [begin, end]");
        rejects(RawSafetensors.build("{\"z\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}", 1),
                "tensor 'z' has data_offsets [-1,0]: offsets must be non-negative integers");
    }

    @Test
    void negativeOrFractionalDimension() throws IOException {
        rejects(RawSafetensors.build("{\"n\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,0]}}", 0),
                "tensor 'n' has shape [2,-1]: dimensions must be non-negative integers");
        rejects(RawSafetensors.build("{\"n\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,0]}}", 0),
                "tensor 'n' has shape [2.5]");
    }

    @Test
    void malformedJson() throws IOException {
        rejects(RawSafetensors.build("{\"a\":{\"dtype\":\"F32\",", 0), "header is not valid JSON at line 1");
    }

    @Test
    void trailingGarbageAfterTheJson() throws IOException {
        rejects(RawSafetensors.build("{} {}", 0), "header is not valid JSON");
    }

    @Test
    void headerThatIsNotAnObject() throws IOException {
        rejects(RawSafetensors.build("[1, 2]", 0), "header must be a JSON object, found array [1,2]");
    }

    @Test
    void duplicateTensorName() throws IOException {
        rejects(RawSafetensors.build("{\"d\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"d\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2), "Duplicate field 'd'");
    }

    @Test
    void invalidUtf8() throws IOException {
        byte[] header = "{\"\u00e9\":1}".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        rejects(RawSafetensors.withLength(header.length, header), "header is not valid UTF-8");
    }

    @Test
    void shapeProductOverflow() throws IOException {
        rejects(RawSafetensors.build(
                "{\"big\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0),
                "tensor 'big' has shape [4294967296, 4294967296] whose size in bytes (F32) overflows 64 bits");
        // the element count fits, the byte count does not
        rejects(RawSafetensors.build(
                "{\"big\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,0]}}", 0),
                "overflows 64 bits");
    }

    @Test
    void nonStringMetadata() throws IOException {
        rejects(RawSafetensors.build("{\"__metadata__\":{\"format\":\"pt\",\"epoch\":3}}", 0),
                "__metadata__ value for key 'epoch' must be a string, found number 3");
    }

    @Test
    void entryThatIsNotAnObject() throws IOException {
        rejects(RawSafetensors.build("{\"s\":\"F32\"}", 0), "tensor 's' must be a JSON object, found string \"F32\"");
    }

    @Test
    void missingTensorIsAnErrorNamingTheFile() throws IOException {
        Path file = dir.resolve("one.safetensors");
        SafetensorsWriter.write(file, Map.of("w", Nd4j.zeros(DataType.FLOAT, 2)), null);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.read("nope"));
            assertEquals(file + ": no tensor 'nope' (the file holds 1 tensors)", e.getMessage());
        }
    }
}
