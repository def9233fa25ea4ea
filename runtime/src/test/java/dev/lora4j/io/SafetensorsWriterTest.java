package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The streaming writer: order, byte counts, atomic replacement and clean-up. */
class SafetensorsWriterTest {

    @TempDir
    Path dir;

    /** For source files, so that {@link #dir} holds just the destination. */
    @TempDir
    Path elsewhere;

    private Path dest;
    private byte[] original;

    @BeforeEach
    void existingDestination() throws IOException {
        dest = dir.resolve("adapter_model.safetensors");
        SafetensorsWriter.write(dest, Map.of("old", Nd4j.linspace(1, 6, 6, DataType.FLOAT).reshape(2, 3)),
                Map.of("format", "pt"));
        original = Files.readAllBytes(dest);
    }

    private List<String> directory() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    private void assertUntouched() throws IOException {
        assertArrayEquals(original, Files.readAllBytes(dest), "destination must be byte-identical");
        assertEquals(List.of("adapter_model.safetensors"), directory(), "no temporary file may remain");
    }

    private static SafetensorsHeader twoTensors() {
        return SafetensorsHeader.builder().tensor("a", DType.F32, 4).tensor("b", DType.I64, 2).build();
    }

    @Test
    void wrongByteCountAbortsAndLeavesTheDestinationAlone() throws IOException {
        SafetensorsWriter w = SafetensorsWriter.open(dest, twoTensors());
        assertEquals(2, directory().size(), "the temporary file exists while writing");
        assertTrue(directory().get(0).startsWith(".adapter_model.safetensors.tmp-"), directory().toString());
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> w.write("a", ByteBuffer.allocate(12)));
        assertEquals(dest + ": tensor 'a' has shape [4] (4 × F32 = 16 bytes) but 12 bytes were given", e.getMessage());
        assertUntouched();
        assertThrows(IllegalStateException.class, w::commit);
        w.close();
        assertUntouched();
    }

    @Test
    void outOfOrderWriteAborts() throws IOException {
        try (SafetensorsWriter w = SafetensorsWriter.open(dest, twoTensors())) {
            SafetensorsException e = assertThrows(SafetensorsException.class,
                    () -> w.write("b", Nd4j.create(new long[] {1, 2}, new long[] {2}, DataType.INT64)));
            assertTrue(e.getMessage().contains("expected tensor 'a' next (#1 of 2 in declared order) but got 'b'"),
                    e.getMessage());
        }
        assertUntouched();
    }

    @Test
    void undeclaredTensorAborts() throws IOException {
        try (SafetensorsWriter w = SafetensorsWriter.open(dest, twoTensors())) {
            SafetensorsException e = assertThrows(SafetensorsException.class,
                    () -> w.write("zzz", ByteBuffer.allocate(16)));
            assertTrue(e.getMessage().endsWith("but got 'zzz', which was never declared"), e.getMessage());
        }
        assertUntouched();
    }

    @Test
    void wrongShapeAborts() throws IOException {
        try (SafetensorsWriter w = SafetensorsWriter.open(dest, twoTensors())) {
            SafetensorsException e = assertThrows(SafetensorsException.class,
                    () -> w.write("a", Nd4j.zeros(DataType.FLOAT, 2, 2)));
            assertTrue(e.getMessage().contains("tensor 'a' was declared with shape [4] but the array has shape [2, 2]"),
                    e.getMessage());
        }
        assertUntouched();
    }

    @Test
    void commitBeforeEveryTensorIsWrittenAborts() throws IOException {
        try (SafetensorsWriter w = SafetensorsWriter.open(dest, twoTensors())) {
            w.write("a", Nd4j.ones(DataType.FLOAT, 4));
            SafetensorsException e = assertThrows(SafetensorsException.class, w::commit);
            assertEquals(dest + ": commit after 1 of 2 tensors; 'b' was never written", e.getMessage());
        }
        assertUntouched();
    }

    @Test
    void closeWithoutCommitDiscardsTheFile() throws IOException {
        try (SafetensorsWriter w = SafetensorsWriter.open(dest, twoTensors())) {
            w.write("a", Nd4j.ones(DataType.FLOAT, 4));
            w.write("b", Nd4j.create(new long[] {1, 2}, new long[] {2}, DataType.INT64));
            assertNull(w.nextTensor());
        }
        assertUntouched();
    }

    @Test
    void commitReplacesTheDestination() throws IOException {
        try (SafetensorsWriter w = SafetensorsWriter.open(dest, twoTensors())) {
            assertEquals("a", w.nextTensor());
            ByteBuffer a = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            a.putFloat(1f).putFloat(2f).putFloat(3f).putFloat(4f).flip();
            w.write("a", a);
            assertEquals(16, a.remaining(), "the caller's buffer position is left alone");
            w.write("b", Nd4j.create(new long[] {-7, 8}, new long[] {2}, DataType.INT64));
            w.commit();
            assertThrows(IllegalStateException.class, w::commit);
        }
        assertEquals(List.of("adapter_model.safetensors"), directory());
        try (SafetensorsFile f = SafetensorsFile.open(dest)) {
            assertArrayEquals(new float[] {1, 2, 3, 4}, f.read("a").data().asFloat());
            assertArrayEquals(new long[] {-7, 8}, f.read("b").data().asLong());
            assertTrue(f.metadata().isEmpty());
        }
    }

    @Test
    void staticWriteOfAnUnsupportedTypeLeavesTheDestinationAlone() throws IOException {
        INDArray ok = Nd4j.ones(DataType.FLOAT, 2);
        INDArray text = Nd4j.create(List.of("not", "numbers"), new long[] {2}, 'c');
        SafetensorsException e = assertThrows(SafetensorsException.class,
                () -> SafetensorsWriter.write(dest, Map.of("ok", ok, "text", text), null));
        assertEquals(dest + ": tensor 'text': ND4J type UTF8 has no safetensors dtype", e.getMessage());
        assertUntouched();
    }

    @Test
    void streamsSixtyFourTensorsOneByOne() throws IOException {
        int count = 64;
        long[] shape = {128, 128};  // 64 KiB each, 4 MiB in all
        SafetensorsHeader.Builder plan = SafetensorsHeader.builder().metadata("format", "pt");
        for (int i = 0; i < count; i++) {
            plan.tensor(String.format("layers.%02d.weight", i), DType.F32, shape);
        }
        SafetensorsHeader header = plan.build();
        long headerBytes = 8 + dev.lora4j.io.internal.HeaderCodec.encode(header).length;
        INDArray block = Nd4j.create(DataType.FLOAT, shape, 'c'); // one reused 64 KiB buffer
        try (SafetensorsWriter w = SafetensorsWriter.open(dest, header)) {
            Path temp = dir.resolve(directory().stream().filter(n -> n.startsWith(".")).findFirst().orElseThrow());
            for (int i = 0; i < count; i++) {
                block.assign(i);
                w.write(String.format("layers.%02d.weight", i), block);
                // the bytes reached the file as each tensor was handed over: nothing accumulates in memory
                assertEquals(headerBytes + (i + 1) * 65536L, Files.size(temp), "after tensor " + i);
            }
            w.commit();
        }
        assertEquals(headerBytes + count * 65536L, Files.size(dest));
        try (SafetensorsFile f = SafetensorsFile.open(dest)) {
            assertEquals(count, f.tensors().size());
            assertEquals(Map.of("format", "pt"), f.metadata());
            for (int i : new int[] {0, 1, 31, 63}) {
                INDArray t = f.read(String.format("layers.%02d.weight", i));
                assertEquals(i, t.minNumber().floatValue());
                assertEquals(i, t.maxNumber().floatValue());
            }
        }
    }

    @Test
    void headerBuilderRejectsBadDeclarations() {
        SafetensorsHeader.Builder b = SafetensorsHeader.builder().tensor("x", DType.F32, 2);
        assertThrows(SafetensorsException.class, () -> b.tensor("x", DType.F32, 2));
        assertThrows(SafetensorsException.class, () -> b.tensor("__metadata__", DType.F32, 2));
        assertThrows(SafetensorsException.class, () -> b.tensor("neg", DType.F32, 2, -1));
        SafetensorsException e = assertThrows(SafetensorsException.class,
                () -> b.tensor("huge", DType.F64, Long.MAX_VALUE / 4));
        assertTrue(e.getMessage().contains("overflows 64 bits"), e.getMessage());
    }

    @Test
    void copiesTensorsFileToFileAndStreamsOthersInPieces() throws IOException {
        Path source = elsewhere.resolve("source.safetensors");
        SafetensorsWriter.write(source, Map.of("a", Nd4j.linspace(1, 4, 4, DataType.FLOAT),
                "b", Nd4j.create(new long[] {5, 6}, new long[] {2}, DataType.INT64)), null);
        try (SafetensorsFile in = SafetensorsFile.open(source); SafetensorsWriter w = SafetensorsWriter.open(dest, twoTensors())) {
            java.nio.channels.WritableByteChannel a = w.stream("a");
            ByteBuffer first = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(9f).flip();
            assertEquals(4, a.write(first));
            assertEquals(0, first.remaining(), "a channel write consumes the buffer");
            assertTrue(a.isOpen());
            a.write(ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(8f).putFloat(7f).putFloat(6f).flip());
            assertTrue(!a.isOpen(), "complete after its 16 bytes");
            w.copy(in, "b");
            w.commit();
        }
        try (SafetensorsFile f = SafetensorsFile.open(dest)) {
            assertArrayEquals(new float[] {9, 8, 7, 6}, f.read("a").data().asFloat());
            assertArrayEquals(new long[] {5, 6}, f.read("b").data().asLong());
        }
    }

    @Test
    void aCopyOfAnotherDtypeOrShapeAborts() throws IOException {
        Path source = elsewhere.resolve("source.safetensors");
        SafetensorsWriter.write(source, Map.of("a", Nd4j.linspace(1, 4, 4, DataType.DOUBLE)), null);
        try (SafetensorsFile in = SafetensorsFile.open(source); SafetensorsWriter w = SafetensorsWriter.open(dest, twoTensors())) {
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> w.copy(in, "a"));
            assertEquals(dest + ": tensor 'a' was declared as F32 [4] but " + source + " holds it as F64 [4]", e.getMessage());
        }
        assertUntouched();
    }

    @Test
    void aStreamedTensorMustBeCompleteAndNoLonger() throws IOException {
        try (SafetensorsWriter w = SafetensorsWriter.open(dest, twoTensors())) {
            java.nio.channels.WritableByteChannel a = w.stream("a");
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> a.write(ByteBuffer.allocate(20)));
            assertEquals(dest + ": tensor 'a' has 16 bytes but 20 were given", e.getMessage());
        }
        assertUntouched();
        try (SafetensorsWriter w = SafetensorsWriter.open(dest, twoTensors())) {
            w.stream("a").write(ByteBuffer.allocate(8));
            SafetensorsException e = assertThrows(SafetensorsException.class,
                    () -> w.write("b", ByteBuffer.allocate(16)));
            assertEquals(dest + ": tensor 'a' got 8 of its 16 bytes before tensor 'b' was started", e.getMessage());
        }
        assertUntouched();
        try (SafetensorsWriter w = SafetensorsWriter.open(dest, SafetensorsHeader.builder().tensor("a", DType.F32, 4).build())) {
            w.stream("a").write(ByteBuffer.allocate(12));
            SafetensorsException e = assertThrows(SafetensorsException.class, w::commit);
            assertEquals(dest + ": tensor 'a' got 12 of its 16 bytes before commit", e.getMessage());
        }
        assertUntouched();
    }

    @Test
    void aLargeFileIsForcedInTheBackgroundAndTheFlushThreadEnds() throws IOException {
        long[] shape = {1024, 1024};
        int count = 17; // 68 MiB: over the 64 MiB from which the writer flushes while writing
        SafetensorsHeader.Builder plan = SafetensorsHeader.builder();
        for (int i = 0; i < count; i++) {
            plan.tensor("t" + i, DType.F32, shape);
        }
        ByteBuffer block = ByteBuffer.allocateDirect(4 << 20).order(ByteOrder.LITTLE_ENDIAN);
        try (SafetensorsWriter w = SafetensorsWriter.open(dest, plan.build())) {
            assertTrue(flushThreads() > 0, "a flush thread runs while a large file is written");
            for (int i = 0; i < count; i++) {
                block.clear();
                block.putFloat(0, i);
                w.write("t" + i, block);
            }
            w.commit();
        }
        assertEquals(0, flushThreads(), "the flush thread ends with the commit");
        try (SafetensorsFile f = SafetensorsFile.open(dest)) {
            assertEquals(16f, f.rawBytes("t16").getFloat(0));
        }
        try (SafetensorsWriter w = SafetensorsWriter.open(dest, plan.build())) {
            w.write("t0", block.clear());
        }
        assertEquals(0, flushThreads(), "and with an abort");
        assertEquals(List.of("adapter_model.safetensors"), directory());
    }

    private static long flushThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("lora4j-flush") && t.isAlive()).count();
    }
}
