package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.io.internal.HeaderCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fuzzes {@link SafetensorsFile}: valid files with random mutations (truncations, bit flips, byte
 * overwrites, inserted non-UTF-8 bytes, rewritten header lengths, hostile numbers and duplicated
 * keys spliced into the JSON) and headers generated from a hostile grammar. Every input must open
 * and read completely, or be refused with a one-line {@link SafetensorsException} — never another
 * exception, an error, a hang or an allocation sized by a claim inside the file (see {@link
 * FuzzHarness}). Tries per property: {@code jqwik.tries.default} (junit-platform.properties; raise
 * it with {@code -Djqwik.tries.default=20000}).
 */
class SafetensorsFuzzTest {

    private static final FuzzHarness HARNESS = new FuzzHarness("safetensors reader", SafetensorsException.class);
    private static Path dir;

    @BeforeContainer
    static void setUp() throws IOException {
        dir = Files.createTempDirectory("lora4j-fuzz-safetensors");
        Nd4j.create(new float[] {1, 2}).addi(1); // load ND4J's backend before allocation is measured
    }

    @AfterContainer
    static void tearDown() throws IOException {
        System.out.println("[fuzz] " + HARNESS.summary());
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    // ---- properties ------------------------------------------------------------------------------

    @Property
    void mutatedValidFiles(@ForAll("validFiles") byte[] valid, @ForAll("mutationLists") List<Mutation> mutations)
            throws IOException {
        byte[] bytes = valid;
        for (Mutation m : mutations) {
            bytes = m.apply(bytes);
        }
        check(bytes, mutations.toString());
    }

    @Property
    void hostileHeaders(@ForAll("hostileHeaderJson") String json, @ForAll("dataLengths") int dataBytes)
            throws IOException {
        check(RawSafetensors.build(json, dataBytes), "header " + abbreviate(json) + " + " + dataBytes + " data bytes");
    }

    @Property
    void hostileHeaderBytes(@ForAll("hostileHeaderJson") String json, @ForAll("badBytes") byte[] spliced,
            @ForAll("fractions") double at) throws IOException {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        int pos = (int) (at * header.length);
        byte[] mixed = new byte[header.length + spliced.length];
        System.arraycopy(header, 0, mixed, 0, pos);
        System.arraycopy(spliced, 0, mixed, pos, spliced.length);
        System.arraycopy(header, pos, mixed, pos + spliced.length, header.length - pos);
        check(RawSafetensors.withLength(mixed.length, mixed), "header " + abbreviate(json) + " with bytes "
                + Arrays.toString(spliced) + " at " + pos);
    }

    // ---- examples: the named cases of the issue, each checked for its message --------------------

    @Example
    void hundredThousandNestedArrays() throws IOException {
        String deep = "{\"a\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";
        assertRejected(RawSafetensors.build(deep, 0), "not valid JSON", "nesting depth");
    }

    @Example
    void hundredThousandNestedObjects() throws IOException {
        String deep = "{\"a\":".repeat(100_000) + "1" + "}".repeat(100_000);
        assertRejected(RawSafetensors.build(deep, 0), "not valid JSON", "nesting depth");
    }

    @Example
    void shapeProductOverflows() throws IOException {
        assertRejected(RawSafetensors.build("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],"
                + "\"data_offsets\":[0,0]}}", 0), "overflows 64 bits");
        assertRejected(RawSafetensors.build("{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],"
                + "\"data_offsets\":[0,0]}}", 0), "overflows 64 bits");
    }

    @Example
    void offsetBeyondLong() throws IOException {
        assertRejected(RawSafetensors.build("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],"
                + "\"data_offsets\":[0,18446744073709551616]}}", 1), "offsets must be non-negative integers");
    }

    @Example
    void hugeNumberLiteral() throws IOException {
        assertRejected(RawSafetensors.build("{\"w\":{\"dtype\":\"U8\",\"shape\":[" + "9".repeat(5000)
                + "],\"data_offsets\":[0,1]}}", 1), "not valid JSON");
    }

    @Example
    void duplicateTensorName() throws IOException {
        assertRejected(RawSafetensors.build("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2), "Duplicate field 'w'");
    }

    @Example
    void invalidUtf8InName() throws IOException {
        byte[] json = "{\"w?\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}".getBytes(StandardCharsets.UTF_8);
        json[3] = (byte) 0xC0;
        assertRejected(RawSafetensors.withLength(json.length, Arrays.copyOf(json, json.length + 1)), "not valid UTF-8");
    }

    @Example
    void rankAboveNd4jLimitIsRefusedOnRead() throws IOException {
        String shape = "1,".repeat(40) + "1";
        byte[] bytes = RawSafetensors.build("{\"w\":{\"dtype\":\"U8\",\"shape\":[" + shape + "],\"data_offsets\":[0,1]}}", 1);
        Path file = RawSafetensors.write(dir, "rank.safetensors", bytes);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(41, f.info("w").rank());
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.read("w"));
            assertTrue(e.getMessage().contains("rank 41"), e.getMessage());
        }
    }

    private void assertRejected(byte[] bytes, String... fragments) throws IOException {
        Path file = RawSafetensors.write(dir, "example.safetensors", bytes);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(file).close());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
        }
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }

    // ---- the check --------------------------------------------------------------------------------

    private static void check(byte[] bytes, String describe) throws IOException {
        Path file = dir.resolve("fuzz.safetensors");
        Files.write(file, bytes);
        HARNESS.run(bytes.length, describe, () -> {
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                long dataLength = bytes.length - 8 - ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
                for (TensorInfo t : f.tensors()) {
                    if (t.end() > dataLength || t.begin() > t.end()) {
                        throw new AssertionError("accepted an entry outside the file: " + t);
                    }
                    INDArray a;
                    try {
                        a = f.read(t.name());
                    } catch (SafetensorsException refusedOnRead) {
                        continue; // e.g. a rank ND4J cannot hold: documented, per tensor
                    }
                    if (a.length() != t.numElements()) {
                        throw new AssertionError(t + " read as " + a.length() + " elements");
                    }
                }
                f.metadata().forEach((k, v) -> { });
            }
            return null;
        });
    }

    private static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "... (" + s.length() + " chars)";
    }

    // ---- generators ---------------------------------------------------------------------------------

    @Provide
    Arbitrary<byte[]> validFiles() {
        Arbitrary<long[]> shapes = Arbitraries.integers().between(0, 4).flatMap(rank ->
                Arbitraries.longs().between(0, 5).array(long[].class).ofSize(rank));
        Arbitrary<DType> dtypes = Arbitraries.of(DType.class);
        Arbitrary<String> names = Arbitraries.oneOf(
                Arbitraries.of("w", "base_model.model.fc.lora_A.weight", "base_model.model.fc.lora_B.weight", "é", ""),
                Arbitraries.strings().ofMinLength(1).ofMaxLength(12));
        Arbitrary<Object[]> tensor = Combinators.combine(names, dtypes, shapes).as((n, d, s) -> new Object[] {n, d, s});
        return Combinators.combine(tensor.list().ofMaxSize(5), Arbitraries.bytes().array(byte[].class).ofMaxSize(16),
                Arbitraries.integers().between(0, 3)).as((tensors, junk, meta) -> {
                    SafetensorsHeader.Builder b = SafetensorsHeader.builder();
                    for (int i = 0; i < meta; i++) {
                        b.metadata("k" + i, "v" + i);
                    }
                    List<String> used = new ArrayList<>();
                    for (Object[] t : tensors) {
                        String name = (String) t[0];
                        if (used.contains(name) || name.equals(SafetensorsHeader.METADATA_KEY)) {
                            continue;
                        }
                        used.add(name);
                        b.tensor(name, (DType) t[1], (long[]) t[2]);
                    }
                    SafetensorsHeader header = b.build();
                    byte[] json = HeaderCodec.encode(header);
                    int data = (int) header.dataLength();
                    ByteBuffer out = ByteBuffer.allocate(8 + json.length + data + junk.length).order(ByteOrder.LITTLE_ENDIAN);
                    out.putLong(json.length).put(json);
                    for (int i = 0; i < data; i++) {
                        out.put((byte) (i * 31 + 7));
                    }
                    out.put(junk);
                    return out.array();
                });
    }

    /** One change to a file's bytes. */
    interface Mutation {
        byte[] apply(byte[] bytes);
    }

    private record Named(String name, java.util.function.UnaryOperator<byte[]> op) implements Mutation {
        @Override
        public byte[] apply(byte[] bytes) {
            return op.apply(bytes);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    @Provide
    Arbitrary<List<Mutation>> mutationLists() {
        return mutations().list().ofMinSize(1).ofMaxSize(4);
    }

    private Arbitrary<Mutation> mutations() {
        Arbitrary<Double> at = fractions();
        return Arbitraries.oneOf(
                at.map(f -> new Named("truncate@" + f, b -> Arrays.copyOf(b, (int) (f * b.length)))),
                Combinators.combine(at, Arbitraries.integers().between(0, 7)).as((f, bit) ->
                        new Named("flip@" + f + "/" + bit, b -> {
                            byte[] c = b.clone();
                            if (c.length > 0) {
                                int i = Math.min(c.length - 1, (int) (f * c.length));
                                c[i] ^= (byte) (1 << bit);
                            }
                            return c;
                        })),
                Combinators.combine(at, Arbitraries.bytes()).as((f, v) -> new Named("set@" + f + "=" + v, b -> {
                    byte[] c = b.clone();
                    if (c.length > 0) {
                        c[Math.min(c.length - 1, (int) (f * c.length))] = v;
                    }
                    return c;
                })),
                Combinators.combine(at, badBytes()).as((f, ins) -> new Named("insert@" + f + Arrays.toString(ins), b -> {
                    int i = (int) (f * b.length);
                    byte[] c = new byte[b.length + ins.length];
                    System.arraycopy(b, 0, c, 0, i);
                    System.arraycopy(ins, 0, c, i, ins.length);
                    System.arraycopy(b, i, c, i + ins.length, b.length - i);
                    return c;
                })),
                Combinators.combine(at, at).as((f, g) -> new Named("delete@" + f + "+" + g, b -> {
                    int i = (int) (f * b.length);
                    int n = (int) (g * (b.length - i) / 4);
                    byte[] c = new byte[b.length - n];
                    System.arraycopy(b, 0, c, 0, i);
                    System.arraycopy(b, i + n, c, i, b.length - i - n);
                    return c;
                })),
                headerLengths().map(n -> new Named("headerLength=" + n, b -> {
                    byte[] c = b.length >= 8 ? b.clone() : Arrays.copyOf(b, 8);
                    ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n);
                    return c;
                })),
                Combinators.combine(hostileNumbers(), at).as((num, f) -> new Named("number->" + num + "@" + f,
                        b -> rewriteJson(b, json -> replaceNthNumber(json, f, num)))),
                at.map(f -> new Named("duplicateEntry@" + f, b -> rewriteJson(b, json -> duplicateEntry(json, f)))),
                Combinators.combine(Arbitraries.integers().between(1, 20_000), at).as((depth, f) ->
                        new Named("nest" + depth + "@" + f, b -> rewriteJson(b, json -> {
                            int i = Math.max(1, (int) (f * json.length()));
                            int colon = json.indexOf(':', Math.min(i, json.length() - 1));
                            if (colon < 0) {
                                return json;
                            }
                            return json.substring(0, colon + 1) + "[".repeat(depth) + "0" + "]".repeat(depth) + ","
                                    + json.substring(colon + 1);
                        }))),
                Arbitraries.of("F8_E4M3", "f32", "", "C64", "F32 ", "BF16\u0000", "I128").map(d ->
                        new Named("dtype->" + d, b -> rewriteJson(b, json -> json.replaceFirst("\"dtype\":\"[A-Z0-9]+\"",
                                "\"dtype\":\"" + d + "\"")))));
    }

    /** Applies {@code edit} to the header text of a well-formed file and fixes up the length. */
    private static byte[] rewriteJson(byte[] bytes, java.util.function.UnaryOperator<String> edit) {
        if (bytes.length < 8) {
            return bytes;
        }
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        if (n < 0 || n > bytes.length - 8) {
            return bytes;
        }
        String json = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        byte[] edited = edit.apply(json).getBytes(StandardCharsets.UTF_8);
        byte[] rest = Arrays.copyOfRange(bytes, 8 + (int) n, bytes.length);
        ByteBuffer out = ByteBuffer.allocate(8 + edited.length + rest.length).order(ByteOrder.LITTLE_ENDIAN);
        return out.putLong(edited.length).put(edited).put(rest).array();
    }

    private static String replaceNthNumber(String json, double f, String replacement) {
        List<int[]> spans = new ArrayList<>();
        var m = java.util.regex.Pattern.compile("-?\\d+").matcher(json);
        while (m.find()) {
            spans.add(new int[] {m.start(), m.end()});
        }
        if (spans.isEmpty()) {
            return json;
        }
        int[] s = spans.get(Math.min(spans.size() - 1, (int) (f * spans.size())));
        return json.substring(0, s[0]) + replacement + json.substring(s[1]);
    }

    private static String duplicateEntry(String json, double f) {
        var m = java.util.regex.Pattern.compile("\"[^\"]*\":\\{[^{}]*\\}").matcher(json);
        List<String> entries = new ArrayList<>();
        while (m.find()) {
            entries.add(m.group());
        }
        if (entries.isEmpty() || !json.startsWith("{")) {
            return json;
        }
        String entry = entries.get(Math.min(entries.size() - 1, (int) (f * entries.size())));
        return "{" + entry + "," + json.substring(1);
    }

    @Provide
    Arbitrary<Double> fractions() {
        return Arbitraries.doubles().between(0, 1);
    }

    @Provide
    Arbitrary<Integer> dataLengths() {
        return Arbitraries.integers().between(0, 300);
    }

    private Arbitrary<Long> headerLengths() {
        return Arbitraries.oneOf(
                Arbitraries.of(-1L, Long.MIN_VALUE, Long.MAX_VALUE, 0L, 1L, 7L, 8L, 100_000_000L, 100_000_001L,
                        1L << 31, (1L << 31) - 1, 1L << 32, -8L),
                Arbitraries.longs().between(0, 400),
                Arbitraries.longs());
    }

    private Arbitrary<String> hostileNumbers() {
        return Arbitraries.oneOf(
                Arbitraries.of("-1", "-0", "0", "1.5", "1e3", "1e309", "-1e309", "9223372036854775807",
                        "9223372036854775808", "18446744073709551615", "18446744073709551616", "4294967296",
                        "99999999999999999999999999999999", "2305843009213693952", "0.0", "1E2", "-9223372036854775808",
                        "NaN", "Infinity", "00", "0x10", "\"4\"", "null", "true", "[]", "{}"),
                Arbitraries.longs().map(String::valueOf),
                Arbitraries.longs().between(0, 1000).map(String::valueOf));
    }

    @Provide
    Arbitrary<byte[]> badBytes() {
        return Arbitraries.oneOf(
                Arbitraries.of(new byte[] {(byte) 0xC0}, new byte[] {(byte) 0xFF}, new byte[] {(byte) 0xED, (byte) 0xA0,
                        (byte) 0x80}, new byte[] {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, new byte[] {0},
                        new byte[] {(byte) 0xE2, (byte) 0x82}, "\"".getBytes(StandardCharsets.UTF_8),
                        "\\u".getBytes(StandardCharsets.UTF_8), "\\ud800".getBytes(StandardCharsets.UTF_8)),
                Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(8));
    }

    /** Headers from a grammar that mixes well-formed entries with hostile values. */
    @Provide
    Arbitrary<String> hostileHeaderJson() {
        Arbitrary<String> number = hostileNumbers();
        Arbitrary<String> dims = number.list().ofMaxSize(5).map(l -> "[" + String.join(",", l) + "]");
        Arbitrary<String> anyValue = Arbitraries.lazyOf(
                () -> number,
                () -> dims,
                () -> Arbitraries.of("\"F32\"", "\"U8\"", "\"\"", "\"\\u0000\"", "{}", "[[1],[2]]", "\"x\"",
                        "{\"a\":1}", "[" + "[".repeat(70) + "]".repeat(70) + "]"));
        Arbitrary<String> dtype = Arbitraries.oneOf(Arbitraries.of("F64", "F32", "F16", "BF16", "I64", "I32", "I16",
                "I8", "U64", "U32", "U16", "U8", "BOOL").map(d -> "\"" + d + "\""), anyValue);
        Arbitrary<String> offsets = Arbitraries.oneOf(
                Combinators.combine(Arbitraries.longs().between(0, 320), Arbitraries.longs().between(0, 320))
                        .as((a, b) -> "[" + a + "," + b + "]"),
                Combinators.combine(number, number).as((a, b) -> "[" + a + "," + b + "]"),
                number.list().ofMaxSize(4).map(l -> "[" + String.join(",", l) + "]"),
                anyValue);
        Arbitrary<String> shape = Arbitraries.oneOf(
                Arbitraries.longs().between(0, 6).list().ofMaxSize(4).map(l -> l.toString().replace(" ", "")),
                dims, anyValue);
        Arbitrary<String> entry = Combinators.combine(dtype, shape, offsets, Arbitraries.integers().between(0, 7))
                .as((d, s, o, drop) -> {
                    List<String> fields = new ArrayList<>();
                    if ((drop & 1) == 0 || drop == 7) {
                        fields.add("\"dtype\":" + d);
                    }
                    if ((drop & 2) == 0) {
                        fields.add("\"shape\":" + s);
                    }
                    if ((drop & 4) == 0) {
                        fields.add("\"data_offsets\":" + o);
                    }
                    if (drop == 7) {
                        fields.add("\"extra\":" + o);
                    }
                    return "{" + String.join(",", fields) + "}";
                });
        Arbitrary<String> value = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(8, entry),
                net.jqwik.api.Tuple.of(1, anyValue));
        Arbitrary<String> key = Arbitraries.oneOf(Arbitraries.of("a", "b", "a", "__metadata__", "", "\\u00e9", "w.weight"),
                Arbitraries.strings().alpha().ofMaxLength(4));
        Arbitrary<String> metadata = Arbitraries.oneOf(Arbitraries.of("{\"format\":\"pt\"}", "{\"a\":1}", "[]", "null",
                "\"pt\"", "{\"a\":{\"b\":\"c\"}}", "{}"));
        Arbitrary<String> field = Combinators.combine(key, value, metadata).as((k, v, md) ->
                "\"" + k + "\":" + (k.equals("__metadata__") ? md : v));
        return Arbitraries.oneOf(
                field.list().ofMaxSize(6).map(l -> "{" + String.join(",", l) + "}"),
                field.list().ofMaxSize(3).map(l -> "{" + String.join(",", l) + "} "),
                Arbitraries.of("", " ", "[]", "null", "{", "}", "{}{}", "{} x", "\"{}\"", "1"));
    }
}
