package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Write → read for every float dtype, integers, rank-0 and empty tensors, metadata and layout. */
class SafetensorsRoundTripTest {

    @TempDir
    Path dir;

    /** Values spanning several binades, both signs, and a few special ones. */
    private static float[] sampleFloats(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((i % 2 == 0 ? 1 : -1) * Math.pow(1.37, i - n / 2.0) * (1 + i / 7.0));
        }
        v[0] = 0f;
        v[1] = 1f;
        v[2] = -2.5f;
        v[3] = 65504f;
        return v;
    }

    private Map<String, INDArray> readAll(Path file) throws IOException {
        Map<String, INDArray> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (TensorInfo info : f.tensors()) {
                out.put(info.name(), f.read(info.name()));
            }
        }
        return out;
    }

    @Test
    void f32AndF64AreExact() throws IOException {
        float[] f = sampleFloats(24);
        double[] d = {Math.PI, -Math.E, Double.MIN_VALUE, Double.MAX_VALUE, -0.0, 1e-300};
        Path file = dir.resolve("exact.safetensors");
        SafetensorsWriter.write(file, Map.of(
                "f", Nd4j.create(f, new long[] {2, 3, 4}, DataType.FLOAT),
                "d", Nd4j.create(d, new long[] {3, 2}, DataType.DOUBLE)), Map.of());
        Map<String, INDArray> back = readAll(file);
        assertEquals(DataType.FLOAT, back.get("f").dataType());
        assertArrayEquals(new long[] {2, 3, 4}, back.get("f").shape());
        assertArrayEquals(f, back.get("f").data().asFloat());
        assertEquals(DataType.DOUBLE, back.get("d").dataType());
        assertArrayEquals(new long[] {3, 2}, back.get("d").shape());
        assertArrayEquals(d, back.get("d").data().asDouble());
        assertEquals(f[1 * 12 + 2 * 4 + 3], back.get("f").getFloat(1, 2, 3)); // C order
    }

    @Test
    void f16AndBf16WithinHalfAnUlp() throws IOException {
        float[] values = sampleFloats(40);
        INDArray source = Nd4j.create(values, new long[] {5, 8}, DataType.FLOAT);
        Path file = dir.resolve("half.safetensors");
        SafetensorsHeader header = SafetensorsHeader.builder()
                .tensor("h", DType.F16, 5, 8)
                .tensor("b", DType.BF16, 5, 8)
                .build();
        try (SafetensorsWriter w = SafetensorsWriter.open(file, header)) {
            w.write("h", source);
            w.write("b", source);
            w.commit();
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(DType.F16, f.info("h").dtype());
            assertEquals(DType.BF16, f.info("b").dtype());
            INDArray h = f.read("h");
            INDArray b = f.read("b");
            assertEquals(DataType.FLOAT, h.dataType());
            assertEquals(DataType.FLOAT, b.dataType());
            assertArrayEquals(new long[] {5, 8}, h.shape());
            for (int i = 0; i < values.length; i++) {
                float x = values[i];
                float hx = h.getFloat(i / 8, i % 8);
                float bx = b.getFloat(i / 8, i % 8);
                if (Math.abs(x) >= 0x1p-14f) { // normal half range: relative error ≤ 2^-11
                    assertTrue(Math.abs(hx - x) <= Math.abs(x) * 0x1p-11f, i + ": " + x + " -> " + hx);
                } else { // subnormal half: absolute error ≤ half of 2^-24
                    assertTrue(Math.abs(hx - x) <= 0x1p-25f, i + ": " + x + " -> " + hx);
                }
                assertTrue(Math.abs(bx - x) <= Math.abs(x) * 0x1p-8f, i + ": " + x + " -> " + bx);
            }
            ByteBuffer raw = f.rawBytes("h");
            assertEquals(ByteOrder.LITTLE_ENDIAN, raw.order());
            assertTrue(raw.isReadOnly());
            assertEquals(80, raw.remaining());
            assertEquals((short) 0x0000, raw.getShort(0));
            assertEquals((short) 0x3C00, raw.getShort(2));   // 1.0
            assertEquals((short) 0xC100, raw.getShort(4));   // -2.5
            assertEquals((short) 0x7BFF, raw.getShort(6));   // 65504
            ByteBuffer rawB = f.rawBytes("b");
            assertEquals((short) 0x3F80, rawB.getShort(2));
            assertEquals((short) 0xC020, rawB.getShort(4));
            assertEquals((short) 0x4780, rawB.getShort(6));  // 65504 rounds to 65536 in bf16
        }
    }

    @Test
    void halfTypedArraysKeepTheirBits() throws IOException {
        INDArray floats = Nd4j.create(new float[] {1f, -2.5f, 0.1f, 3e-5f}, new long[] {4}, DataType.FLOAT);
        Path file = dir.resolve("typed.safetensors");
        SafetensorsWriter.write(file, Map.of(
                "h", floats.castTo(DataType.FLOAT16),
                "b", floats.castTo(DataType.BFLOAT16)), null);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(DType.F16, f.info("h").dtype());
            assertEquals(DType.BF16, f.info("b").dtype());
            assertArrayEquals(floats.castTo(DataType.FLOAT16).castTo(DataType.FLOAT).data().asFloat(),
                    f.read("h").data().asFloat());
            assertArrayEquals(floats.castTo(DataType.BFLOAT16).castTo(DataType.FLOAT).data().asFloat(),
                    f.read("b").data().asFloat());
        }
    }

    @Test
    void integerAndBoolTypes() throws IOException {
        Map<String, INDArray> in = new LinkedHashMap<>();
        in.put("i64", Nd4j.create(new long[] {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE}, new long[] {2, 2}, DataType.INT64));
        in.put("i32", Nd4j.create(new int[] {Integer.MIN_VALUE, 7, Integer.MAX_VALUE}, new long[] {3}, DataType.INT32));
        in.put("i8", Nd4j.create(new byte[] {-128, 0, 127}, new long[] {3}, DataType.INT8));
        in.put("u8", Nd4j.create(new byte[] {(byte) 255, 1}, new long[] {2}, DataType.UINT8));
        in.put("mask", Nd4j.create(new boolean[] {true, false, true}, new long[] {3}, DataType.BOOL));
        Path file = dir.resolve("ints.safetensors");
        SafetensorsWriter.write(file, in, null);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(DType.I64, f.info("i64").dtype());
            assertEquals(DType.U8, f.info("u8").dtype());
            assertEquals(DType.BOOL, f.info("mask").dtype());
            for (Map.Entry<String, INDArray> e : in.entrySet()) {
                INDArray back = f.read(e.getKey());
                assertEquals(e.getValue().dataType(), back.dataType(), e.getKey());
                assertEquals(e.getValue(), back, e.getKey());
            }
            assertEquals(Long.MIN_VALUE, f.read("i64").getLong(0, 0));
            assertEquals((byte) 255, f.rawBytes("u8").get(0));
            assertEquals(1, f.rawBytes("mask").get(0));
            assertEquals(0, f.rawBytes("mask").get(1));
        }
    }

    @Test
    void rankZeroAndEmptyTensors() throws IOException {
        Path file = dir.resolve("shapes.safetensors");
        SafetensorsWriter.write(file, Map.of(
                "scalar", Nd4j.scalar(DataType.FLOAT, 3.25f),
                "dscalar", Nd4j.scalar(DataType.DOUBLE, -1.5),
                "empty", Nd4j.create(DataType.FLOAT, new long[] {0, 5}, 'c'),
                "empty1", Nd4j.create(DataType.INT32, new long[] {0}, 'c')), null);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new long[0], f.info("scalar").shape());
            assertEquals(4, f.info("scalar").byteLength());
            INDArray s = f.read("scalar");
            assertEquals(0, s.rank());
            assertEquals(3.25f, s.getFloat(0));
            assertEquals(-1.5, f.read("dscalar").getDouble(0));
            assertEquals(0, f.info("empty").byteLength());
            INDArray e = f.read("empty");
            assertTrue(e.isEmpty());
            assertArrayEquals(new long[] {0, 5}, e.shape());
            assertEquals(DataType.FLOAT, e.dataType());
            assertArrayEquals(new long[] {0}, f.read("empty1").shape());
            assertEquals(0, f.rawBytes("empty").remaining());
        }
        assertTrue(RawSafetensors.header(file).contains("\"scalar\":{\"dtype\":\"F32\",\"shape\":[],"));
    }

    @Test
    void metadataRoundTrips() throws IOException {
        Path file = dir.resolve("meta.safetensors");
        Map<String, String> meta = Map.of("format", "pt", "lora4j", "0.1", "note", "ünïcödé \"quoted\"");
        SafetensorsWriter.write(file, Map.of("x", Nd4j.ones(DataType.FLOAT, 2)), meta);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(meta, f.metadata());
        }
        SafetensorsWriter.write(file, Map.of("x", Nd4j.ones(DataType.FLOAT, 2)), null);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertTrue(f.metadata().isEmpty());
        }
        assertTrue(RawSafetensors.header(file).startsWith("{\"x\":"));
    }

    @Test
    void layoutFollowsTheReferenceImplementation() throws IOException {
        Map<String, INDArray> in = new LinkedHashMap<>();
        in.put("c", Nd4j.ones(DataType.FLOAT, 3));                    // 12 bytes
        in.put("a", Nd4j.ones(DataType.FLOAT16, 3));                  // 6 bytes
        in.put("b", Nd4j.ones(DataType.DOUBLE, 1));                   // 8 bytes
        in.put("aa", Nd4j.ones(DataType.FLOAT, 1));                   // 4 bytes
        Path file = dir.resolve("layout.safetensors");
        SafetensorsWriter.write(file, in, Map.of("format", "pt"));
        String header = RawSafetensors.header(file);
        assertEquals(0, (8 + header.length()) % 8, "data section starts 8-byte aligned");
        assertEquals("{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                + "\"aa\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                + "\"c\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[12,24]},"
                + "\"a\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[24,30]}}", header.stripTrailing());
        assertEquals(8 + header.length() + 30, Files.size(file));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("b", "aa", "c", "a"), f.tensors().stream().map(TensorInfo::name).toList());
        }
    }

    @Test
    void viewsAndTransposesAreWrittenInLogicalCOrder() throws IOException {
        INDArray m = Nd4j.create(new float[] {1, 2, 3, 4, 5, 6}, new long[] {2, 3}, DataType.FLOAT);
        Path file = dir.resolve("views.safetensors");
        SafetensorsWriter.write(file, Map.of(
                "t", m.transpose(),
                "row", m.get(NDArrayIndex.point(1), NDArrayIndex.all()),
                "col", m.get(NDArrayIndex.all(), NDArrayIndex.point(2)),
                "f", m.dup('f')), null);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, f.read("t").data().asFloat());
            assertArrayEquals(new long[] {3, 2}, f.read("t").shape());
            assertArrayEquals(new float[] {4, 5, 6}, f.read("row").data().asFloat());
            assertArrayEquals(new float[] {3, 6}, f.read("col").data().asFloat());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, f.read("f").data().asFloat());
        }
    }

    @Test
    void doublesNarrowToF32AndIntegersWidenToFloats() throws IOException {
        Path file = dir.resolve("cast.safetensors");
        SafetensorsHeader header = SafetensorsHeader.builder()
                .tensor("d2f", DType.F32, 2)
                .tensor("i2f", DType.F64, 2)
                .tensor("l2i", DType.I32, 2)
                .build();
        try (SafetensorsWriter w = SafetensorsWriter.open(file, header)) {
            w.write("d2f", Nd4j.create(new double[] {0.1, -3}, new long[] {2}, DataType.DOUBLE));
            w.write("i2f", Nd4j.create(new int[] {7, -9}, new long[] {2}, DataType.INT32));
            w.write("l2i", Nd4j.create(new long[] {5, -6}, new long[] {2}, DataType.INT64));
            w.commit();
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new float[] {0.1f, -3f}, f.read("d2f").data().asFloat());
            assertArrayEquals(new double[] {7, -9}, f.read("i2f").data().asDouble());
            assertEquals(DataType.INT32, f.read("l2i").dataType());
            assertArrayEquals(new int[] {5, -6}, f.read("l2i").data().asInt());
        }
    }

    @Test
    void floatsAreNotSilentlyTruncatedToIntegers() throws IOException {
        Path file = dir.resolve("refuse.safetensors");
        SafetensorsHeader header = SafetensorsHeader.builder().tensor("i", DType.I32, 2).build();
        try (SafetensorsWriter w = SafetensorsWriter.open(file, header)) {
            SafetensorsException e = org.junit.jupiter.api.Assertions.assertThrows(SafetensorsException.class,
                    () -> w.write("i", Nd4j.create(new float[] {1.5f, 2f}, new long[] {2}, DataType.FLOAT)));
            assertTrue(e.getMessage().contains("tensor 'i'") && e.getMessage().contains("refusing to write a FLOAT array as I32"),
                    e.getMessage());
        }
        assertTrue(Files.notExists(file));
    }
}
