package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.io.internal.PeftConfigMapping;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Fuzzes {@link PeftAdapterConfig#read}: PEFT-like configs with fields set to hostile JSON values
 * (wrong types, huge and negative numbers, broken and catastrophically backtracking regexes, deep
 * nesting), with duplicated keys, trailing garbage, truncations, bit flips and non-UTF-8 bytes.
 * Every input must give a config whose every accessor, module matcher and lora4j mapping works, or
 * a one-line {@link PeftConfigException} — never another exception, an error, a hang or an
 * allocation beyond a small multiple of the input (see {@link FuzzHarness}).
 */
class PeftConfigFuzzTest {

    private static final FuzzHarness HARNESS = new FuzzHarness("adapter_config.json reader", PeftConfigException.class);
    private static final List<String> MODULES = List.of("encoder.layer.0.attention.q_lin", "encoder.layer.11.ffn.lin1",
            "classifier", "model.layers.3.self_attn.q_proj", "a".repeat(30) + "b", "q", "");
    private static Path dir;

    @BeforeContainer
    static void setUp() throws IOException {
        dir = Files.createTempDirectory("lora4j-fuzz-config");
    }

    @AfterContainer
    static void tearDown() throws IOException {
        System.out.println("[fuzz] " + HARNESS.summary());
        Files.deleteIfExists(dir.resolve(PeftAdapterConfig.FILE_NAME));
        Files.deleteIfExists(dir);
    }

    // ---- properties ------------------------------------------------------------------------------

    @Property
    void hostileFieldValues(@ForAll("baseConfigs") String base, @ForAll("fieldEdits") List<String[]> edits)
            throws IOException {
        String json = base;
        for (String[] edit : edits) {
            json = setField(json, edit[0], edit[1]);
        }
        check(json.getBytes(StandardCharsets.UTF_8), "config " + abbreviate(json));
    }

    @Property
    void mutatedBytes(@ForAll("baseConfigs") String base, @ForAll("byteEdits") List<ByteEdit> edits) throws IOException {
        byte[] bytes = base.getBytes(StandardCharsets.UTF_8);
        for (ByteEdit e : edits) {
            bytes = e.apply(bytes);
        }
        check(bytes, "config " + abbreviate(base) + " with " + edits);
    }

    // ---- examples --------------------------------------------------------------------------------

    @Example
    void hundredThousandNestedArrays() throws IOException {
        String json = "{\"peft_type\":\"LORA\",\"x\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";
        assertRejected(json, "not valid JSON", "nesting depth");
    }

    @Example
    void duplicateKeyIsRefused() throws IOException {
        assertRejected("{\"peft_type\":\"LORA\",\"r\":4,\"r\":8}", "Duplicate field 'r'");
    }

    @Example
    void trailingGarbageIsRefused() throws IOException {
        assertRejected("{\"peft_type\":\"LORA\"} {\"r\":1}", "not valid JSON");
    }

    @Example
    void catastrophicRegexIsStoppedWhileMatching() throws IOException {
        Path file = dir.resolve(PeftAdapterConfig.FILE_NAME);
        Files.writeString(file, "{\"peft_type\":\"LORA\",\"target_modules\":\"(.*a){20}\"}");
        PeftAdapterConfig config = PeftAdapterConfig.read(file);
        long t0 = System.nanoTime();
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> config.targets("a".repeat(30) + "b"));
        assertTrue(e.getMessage().contains("(.*a){20}") && e.getMessage().contains("catastrophic backtracking"),
                e.getMessage());
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "gave up quickly");
    }

    @Example
    void invalidModulesToSaveRegexIsRefusedAtRead() throws IOException {
        assertRejected("{\"peft_type\":\"LORA\",\"modules_to_save\":[\"cls(\"]}", "field 'modules_to_save'",
                "not a valid regular expression");
        assertRejected("{\"peft_type\":\"LORA\",\"layers_pattern\":\"layers[\"}", "field 'layers_pattern'");
    }

    @Example
    void blankTargetNamesSelectNothingAndStillMap() throws IOException {
        Path file = dir.resolve(PeftAdapterConfig.FILE_NAME);
        Files.writeString(file, "{\"peft_type\":\"LORA\",\"target_modules\":[\"\", \" \", \"q_lin\"],"
                + "\"exclude_modules\":[\"\"]}");
        PeftAdapterConfig config = PeftAdapterConfig.read(file);
        exercise(config);
        assertEquals(List.of("q_lin"), PeftConfigMapping.fromPeft(config, Set.of("l.q_lin")).targetModules());
    }

    @Example
    void oversizedFileIsRefusedBeforeReading() throws IOException {
        Path file = dir.resolve(PeftAdapterConfig.FILE_NAME);
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {'{'}), PeftAdapterConfig.MAX_FILE_BYTES + 10);
        }
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> PeftAdapterConfig.read(file));
        assertTrue(e.getMessage().contains("is not a PEFT config"), e.getMessage());
        Files.delete(file);
    }

    private void assertRejected(String json, String... fragments) throws IOException {
        Path file = dir.resolve(PeftAdapterConfig.FILE_NAME);
        Files.writeString(file, json);
        PeftConfigException e = assertThrows(PeftConfigException.class, () -> PeftAdapterConfig.read(file));
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
        }
        assertEquals(-1, e.getMessage().indexOf('\n'), e.getMessage());
    }

    // ---- the check -------------------------------------------------------------------------------

    private static void check(byte[] bytes, String describe) throws IOException {
        Path file = dir.resolve(PeftAdapterConfig.FILE_NAME);
        Files.write(file, bytes);
        HARNESS.run(bytes.length, describe, () -> {
            PeftAdapterConfig c = PeftAdapterConfig.read(file);
            exercise(c);
            return null;
        });
    }

    /** Every accessor of an accepted config must work; matching may only fail with the documented type. */
    private static void exercise(PeftAdapterConfig c) {
        c.peftType();
        c.r();
        c.loraAlpha();
        c.loraDropout();
        c.fanInFanOut();
        c.bias();
        c.useRslora();
        c.useDora();
        c.inferenceMode();
        c.modulesToSave();
        c.rankPattern();
        c.alphaPattern();
        c.initLoraWeights();
        c.loraInit();
        c.taskType();
        c.baseModelNameOrPath();
        c.revision();
        c.peftVersion();
        c.layersToTransform();
        c.layersPattern();
        c.excludeModules();
        boolean allLinear = c.targetModules().map(TargetModules::isAllLinear).orElse(false);
        Set<String> targeted = new LinkedHashSet<>();
        for (String m : MODULES) {
            c.rankFor(m);
            c.alphaFor(m);
            if (!Double.isFinite(c.scalingFor(m)) || c.scalingFor(m) <= 0) {
                throw new AssertionError("scaling " + c.scalingFor(m) + " for " + m);
            }
            if (!allLinear && c.targets(m)) {
                targeted.add(m);
            }
        }
        PeftAdapterConfig again = PeftAdapterConfig.parse(c.toJsonString(), "round trip");
        if (!again.equals(c)) {
            throw new AssertionError("round trip changed the config: " + c.toJsonString());
        }
        try {
            PeftConfigMapping.fromPeft(c, targeted.isEmpty() ? Set.of("classifier") : targeted);
        } catch (AdapterException unsupported) {
            if (!unsupported.getMessage().contains("not supported by lora4j")) {
                throw unsupported;
            }
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "... (" + s.length() + " chars)";
    }

    /** Sets top-level {@code field} of a JSON object text to raw JSON {@code value} (textually). */
    private static String setField(String json, String field, String value) {
        String trimmed = json.strip();
        String body = trimmed.substring(1, trimmed.length() - 1).strip();
        return "{\"" + field + "\": " + value + (body.isEmpty() ? "" : ", " + body) + "}";
    }

    // ---- generators ----------------------------------------------------------------------------------

    @Provide
    Arbitrary<String> baseConfigs() {
        Arbitrary<TargetModules> targets = Arbitraries.oneOf(
                Arbitraries.of(TargetModules.names("q_lin", "v_lin"), TargetModules.names("q_proj"),
                        TargetModules.regex(".*\\.(q|v)_lin"), TargetModules.regex(TargetModules.ALL_LINEAR),
                        TargetModules.names("classifier", "lin1")));
        return Combinators.combine(Arbitraries.integers().between(1, 64), Arbitraries.doubles().between(0.5, 64),
                targets, Arbitraries.integers().between(0, 3)).as((r, alpha, t, extra) -> {
                    PeftAdapterConfig c = PeftAdapterConfig.lora(r, alpha, t);
                    if (extra == 1) {
                        c = c.withModulesToSave(List.of("classifier")).withRankPattern(java.util.Map.of("q_lin", 4));
                    } else if (extra == 2) {
                        c = c.withAlphaPattern(java.util.Map.of("layer\\.1\\..*", 3.0)).withUseRslora(true);
                    } else if (extra == 3 && !t.isRegex()) { // PEFT refuses layers_to_transform with a string target
                        c = c.withField("layers_to_transform", com.fasterxml.jackson.databind.node.IntNode.valueOf(0));
                    }
                    return c.toJsonString();
                });
    }

    @Provide
    Arbitrary<List<String[]>> fieldEdits() {
        Arbitrary<String> field = Arbitraries.oneOf(
                Arbitraries.of("peft_type", "r", "lora_alpha", "lora_dropout", "target_modules", "exclude_modules",
                        "fan_in_fan_out", "bias", "use_rslora", "use_dora", "modules_to_save", "init_lora_weights",
                        "layers_to_transform", "layers_pattern", "rank_pattern", "alpha_pattern", "task_type",
                        "base_model_name_or_path", "revision", "inference_mode", "lora_bias", "peft_version",
                        "target_parameters"),
                Arbitraries.strings().ofMaxLength(6));
        return Combinators.combine(field, hostileValues()).as((f, v) -> new String[] {f, v}).list().ofMinSize(1)
                .ofMaxSize(4);
    }

    private Arbitrary<String> hostileValues() {
        Arbitrary<String> regexes = Arbitraries.of("\"(\"", "\"[a-\"", "\"(.*a){20}\"", "\"q_lin\"", "\"all-linear\"",
                "\"\\\\\"", "\".*\"", "\"(a|b\"", "\"((((\"", "\"(?<n>x)\"", "\"\\\\p{Foo}\"", "\"\"", "\"x{2,1}\"",
                "\"*\"", "\"(.*\\\\.){25}z\"", "\"(x+x+)+y\"", "\"layers\"", "\"\\u0000\"", "\"é\"");
        Arbitrary<String> numbers = Arbitraries.of("0", "-1", "1", "8", "0.5", "1.0", "0.99999", "1e308", "1e309",
                "-1e309", "2147483647", "2147483648", "-2147483649", "9223372036854775808", "1e-320", "3.5",
                "99999999999999999999", "-0.0");
        Arbitrary<String> scalars = Arbitraries.oneOf(regexes, numbers,
                Arbitraries.of("true", "false", "null", "\"LORA\"", "\"none\"", "\"all\"", "\"lora_only\"", "\"gaussian\"",
                        "\"pissa\"", "{}", "[]"));
        Arbitrary<String> lists = scalars.list().ofMaxSize(4).map(l -> "[" + String.join(",", l) + "]");
        Arbitrary<String> stringLists = regexes.list().ofMaxSize(4).map(l -> "[" + String.join(",", l) + "]");
        Arbitrary<String> maps = Combinators.combine(regexes, scalars).as((k, v) -> "{" + k + ":" + v + "}")
                .list().ofMaxSize(3).map(l -> "{" + String.join(",", l.stream().map(e -> e.substring(1, e.length() - 1))
                        .toList()) + "}");
        Arbitrary<String> deep = Arbitraries.integers().between(1, 200).map(d -> "[".repeat(d) + "]".repeat(d));
        Arbitrary<String> longString = Arbitraries.integers().between(1, 200_000).map(n -> "\"" + "a".repeat(n) + "\"");
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(5, scalars), net.jqwik.api.Tuple.of(3, lists), net.jqwik.api.Tuple.of(3, stringLists), net.jqwik.api.Tuple.of(2, maps),
                net.jqwik.api.Tuple.of(1, deep), net.jqwik.api.Tuple.of(1, longString));
    }

    /** One change to the file's bytes. */
    record ByteEdit(String kind, double at, byte[] bytes) {
        byte[] apply(byte[] in) {
            int i = Math.min(in.length, (int) (at * in.length));
            switch (kind) {
                case "truncate":
                    return Arrays.copyOf(in, i);
                case "flip": {
                    byte[] c = in.clone();
                    if (c.length > 0) {
                        c[Math.min(c.length - 1, i)] ^= bytes[0];
                    }
                    return c;
                }
                case "insert": {
                    byte[] c = new byte[in.length + bytes.length];
                    System.arraycopy(in, 0, c, 0, i);
                    System.arraycopy(bytes, 0, c, i, bytes.length);
                    System.arraycopy(in, i, c, i + bytes.length, in.length - i);
                    return c;
                }
                case "duplicateLine": {
                    String text = new String(in, StandardCharsets.UTF_8);
                    String[] lines = text.split("\n", -1);
                    if (lines.length < 3) {
                        return in;
                    }
                    int line = 1 + Math.min(lines.length - 3, (int) (at * (lines.length - 2)));
                    List<String> out = new ArrayList<>(Arrays.asList(lines));
                    String copy = lines[line].endsWith(",") ? lines[line] : lines[line] + ",";
                    out.add(line, copy);
                    return String.join("\n", out).getBytes(StandardCharsets.UTF_8);
                }
                default: // append
                    byte[] c = Arrays.copyOf(in, in.length + bytes.length);
                    System.arraycopy(bytes, 0, c, in.length, bytes.length);
                    return c;
            }
        }

        @Override
        public String toString() {
            return kind + "@" + at + Arrays.toString(bytes);
        }
    }

    @Provide
    Arbitrary<List<ByteEdit>> byteEdits() {
        Arbitrary<byte[]> bytes = Arbitraries.oneOf(
                Arbitraries.of(new byte[] {(byte) 0xC0}, new byte[] {(byte) 0xFF}, new byte[] {1}, new byte[] {(byte) 0x80},
                        new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, "}".getBytes(StandardCharsets.UTF_8),
                        " {\"r\": 1}".getBytes(StandardCharsets.UTF_8), "\"".getBytes(StandardCharsets.UTF_8),
                        ",".getBytes(StandardCharsets.UTF_8)),
                Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(6));
        return Combinators.combine(Arbitraries.of("truncate", "flip", "insert", "duplicateLine", "append"),
                Arbitraries.doubles().between(0, 1), bytes).as(ByteEdit::new).list().ofMinSize(1).ofMaxSize(3);
    }
}
