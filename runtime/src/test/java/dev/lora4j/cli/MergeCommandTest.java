package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.io.DType;
import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.SafetensorsHeader;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.io.TensorInfo;
import dev.lora4j.io.internal.HalfFloats;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code lora4j merge} of the real PEFT fixture into a synthetic base checkpoint with DistilBERT's
 * tensor names and shapes: every merged tensor against W + (alpha/r)·B·A computed independently in
 * float64, every other tensor byte-identical, and the error cases.
 */
class MergeCommandTest {

    private static final String LAYER = "distilbert.transformer.layer.";
    /** The adapted weights stored in half precision, to check the dtype is kept. */
    private static final Map<String, DType> HALF = Map.of(
            LAYER + "5.attention.q_lin.weight", DType.F16,
            LAYER + "4.attention.v_lin.weight", DType.BF16);

    @TempDir
    static Path tmp;

    static Path base;

    static Path fixture() throws URISyntaxException {
        return Path.of(MergeCommandTest.class.getResource("/fixtures/peft/distilbert-emotion").toURI());
    }

    /** The base checkpoint: DistilBERT names, the adapted ones plus unrelated tensors (F16, I64). */
    static Map<String, Object[]> baseTensors(Function<String, String> rename) {
        Nd4j.getRandom().setSeed(17);
        Map<String, Object[]> t = new LinkedHashMap<>();
        t.put(rename.apply("distilbert.embeddings.word_embeddings.weight"), new Object[] {DType.F16, 1000L, 768L});
        t.put(rename.apply("distilbert.embeddings.position_ids"), new Object[] {DType.I64, 1L, 512L});
        t.put(rename.apply("distilbert.embeddings.LayerNorm.weight"), new Object[] {DType.F32, 768L});
        for (int i = 0; i < 6; i++) {
            for (String m : List.of("q_lin", "v_lin")) {
                String w = LAYER + i + ".attention." + m + ".weight";
                t.put(rename.apply(w), new Object[] {HALF.getOrDefault(w, DType.F32), 768L, 768L});
                t.put(rename.apply(LAYER + i + ".attention." + m + ".bias"), new Object[] {DType.F32, 768L});
            }
            t.put(rename.apply(LAYER + i + ".attention.k_lin.bias"), new Object[] {DType.F32, 768L});
        }
        t.put(rename.apply("pre_classifier.weight"), new Object[] {DType.F32, 768L, 768L});
        t.put(rename.apply("pre_classifier.bias"), new Object[] {DType.F32, 768L});
        t.put(rename.apply("classifier.weight"), new Object[] {DType.F32, 6L, 768L});
        t.put(rename.apply("classifier.bias"), new Object[] {DType.F32, 6L});
        return t;
    }

    /** Writes a checkpoint with the given names → {dtype, shape...}; values uniform in ±0.036. */
    static Path writeBase(Path file, Map<String, Object[]> spec) throws Exception {
        SafetensorsHeader.Builder plan = SafetensorsHeader.builder().metadata("format", "pt");
        spec.forEach((name, s) -> plan.tensor(name, (DType) s[0], shape(s)));
        try (SafetensorsWriter writer = SafetensorsWriter.open(file, plan.build())) {
            for (Map.Entry<String, Object[]> e : spec.entrySet()) {
                DType dtype = (DType) e.getValue()[0];
                long[] shape = shape(e.getValue());
                INDArray values = dtype == DType.I64
                        ? Nd4j.arange(shape[1]).castTo(DataType.INT64).reshape(shape)
                        : Nd4j.rand(DataType.FLOAT, shape).subi(0.5).muli(0.072);
                writer.write(e.getKey(), values);
            }
            writer.commit();
        }
        return file;
    }

    private static long[] shape(Object[] s) {
        long[] shape = new long[s.length - 1];
        for (int i = 1; i < s.length; i++) {
            shape[i - 1] = (Long) s[i];
        }
        return shape;
    }

    @BeforeAll
    static void checkpoint() throws Exception {
        base = writeBase(tmp.resolve("model.safetensors"), baseTensors(Function.identity()));
    }

    @Test
    void mergesTheRealPeftAdapterAndCopiesEverythingElseByteForByte() throws Exception {
        Path out = tmp.resolve("merged.safetensors");
        CliRun run = CliRun.of("merge", "--base", base.toString(), "--adapter", fixture().toString(), "--out", out.toString());
        assertEquals(0, run.exitCode(), run.err());
        assertEquals("", run.err());
        assertTrue(run.out().startsWith("merged 12 LoRA modules, replaced 4 tensors, added 0, copied 21 unchanged"), run.out());

        PeftAdapterConfig config = PeftAdapterConfig.read(fixture());
        double scaling = config.loraAlpha() / config.r();
        assertEquals(2.0, scaling);
        int mergedCount = 0;
        int replacedCount = 0;
        int copiedCount = 0;
        try (SafetensorsFile in = SafetensorsFile.open(base);
                SafetensorsFile merged = SafetensorsFile.open(out);
                SafetensorsFile adapter = SafetensorsFile.open(fixture().resolve("adapter_model.safetensors"))) {
            assertEquals(in.metadata(), merged.metadata());
            assertEquals(in.tensors().size(), merged.tensors().size());
            for (int k = 0; k < in.tensors().size(); k++) {
                TensorInfo b = in.tensors().get(k);
                TensorInfo m = merged.tensors().get(k);
                assertEquals(b.name(), m.name(), "same order");
                assertEquals(b.dtype(), m.dtype(), b.name() + " keeps its dtype");
                assertEquals(List.of(box(b.shape())), List.of(box(m.shape())), b.name());
                String module = b.name().substring(0, b.name().length() - ".weight".length());
                String aKey = "base_model.model." + module + ".lora_A.weight";
                if (b.name().endsWith(".weight") && adapter.contains(aKey)) {
                    assertMerged(in, b, merged, m, adapter, module, scaling);
                    mergedCount++;
                } else if (adapter.contains("base_model.model." + b.name())) {
                    assertTrue(dev.lora4j.testing.Bitwise.equal(adapter.read("base_model.model." + b.name()),
                            merged.read(m.name())), b.name() + " is replaced by the modules_to_save tensor");
                    replacedCount++;
                } else {
                    ByteBuffer before = in.rawBytes(b.name());
                    ByteBuffer after = merged.rawBytes(m.name());
                    assertEquals(before, after, b.name() + " must be copied byte for byte");
                    copiedCount++;
                }
            }
        }
        assertEquals(12, mergedCount);
        assertEquals(4, replacedCount);
        assertEquals(21, copiedCount);
    }

    /** Merged tensor {@code m} equals base tensor {@code b} + s·B·A of the adapter's {@code module}, computed here in float64. */
    private static void assertMerged(SafetensorsFile in, TensorInfo b, SafetensorsFile merged, TensorInfo m,
            SafetensorsFile adapter, String module, double scaling) {
        double[][] w = decode(in, b);
        double[][] a = adapter.read("base_model.model." + module + ".lora_A.weight").toDoubleMatrix();
        double[][] bb = adapter.read("base_model.model." + module + ".lora_B.weight").toDoubleMatrix();
        double[][] got = decode(merged, m);
        double worst = 0;
        for (int i = 0; i < w.length; i++) {
            for (int j = 0; j < w[0].length; j++) {
                double delta = 0;
                for (int r = 0; r < a.length; r++) {
                    delta += bb[i][r] * a[r][j];
                }
                double expected = w[i][j] + scaling * delta;
                double excess = Math.abs(got[i][j] - expected) - tolerance(b.dtype(), expected);
                worst = Math.max(worst, excess);
            }
        }
        assertTrue(worst <= 0, b.name() + " (" + b.dtype() + ") exceeds its tolerance by " + worst);
        assertFalse(in.rawBytes(b.name()).equals(merged.rawBytes(m.name())), b.name() + " must change");
    }

    /** The base without its classification head, as distilbert-base-uncased is; {@code rename} applied to every name. */
    private static Path headlessBase(String file, Function<String, String> rename) throws Exception {
        Map<String, Object[]> spec = new LinkedHashMap<>();
        baseTensors(rename).forEach((n, s) -> {
            if (!n.contains("classifier")) {
                spec.put(n, s);
            }
        });
        return writeBase(tmp.resolve(file), spec);
    }

    private static final List<String> HEAD = List.of("classifier.bias", "classifier.weight", "pre_classifier.bias",
            "pre_classifier.weight");

    @Test
    void aClassificationHeadTheBaseLacksIsAddedAsPeftsMergedModelWouldHaveIt() throws Exception {
        Function<String, String> bare = n -> n.startsWith("distilbert.") ? n.substring("distilbert.".length()) : n;
        for (Function<String, String> convention : List.of(Function.<String>identity(), bare)) {
            Path headless = headlessBase("headless.safetensors", convention);
            Path out = tmp.resolve("with-head.safetensors");
            Files.deleteIfExists(out);
            CliRun run = CliRun.of("merge", "--base", headless.toString(), "--adapter", fixture().toString(), "--out",
                    out.toString());
            assertEquals(0, run.exitCode(), run.err());
            assertTrue(run.out().startsWith("merged 12 LoRA modules, replaced 0 tensors, added 4, copied 21 unchanged"),
                    run.out());
            assertTrue(run.out().contains("added classifier.weight [6, 768] F32 from base_model.model.classifier.weight"
                    + " (modules_to_save; not in the base)"), run.out());
            assertTrue(run.out().contains("added pre_classifier.bias [768] F32 from base_model.model.pre_classifier.bias"),
                    run.out());

            PeftAdapterConfig config = PeftAdapterConfig.read(fixture());
            try (SafetensorsFile in = SafetensorsFile.open(headless);
                    SafetensorsFile merged = SafetensorsFile.open(out);
                    SafetensorsFile adapter = SafetensorsFile.open(fixture().resolve("adapter_model.safetensors"))) {
                List<String> names = merged.tensors().stream().map(TensorInfo::name).toList();
                List<String> expectedNames = new java.util.ArrayList<>(in.tensors().stream().map(TensorInfo::name).toList());
                expectedNames.addAll(HEAD);
                assertEquals(expectedNames, names, "the base's tensors in order, then the head under its own names");
                for (String head : HEAD) {
                    assertTrue(dev.lora4j.testing.Bitwise.equal(adapter.read("base_model.model." + head), merged.read(head)),
                            head + " holds the adapter's values");
                }
                for (int i = 0; i < 6; i++) {
                    String module = LAYER + i + ".attention.q_lin";
                    String name = convention.apply(module + ".weight");
                    assertMerged(in, in.info(name), merged, merged.info(name), adapter, module,
                            config.loraAlpha() / config.r());
                }
            }
        }
        dev.lora4j.io.CheckpointMerger.Result result = dev.lora4j.io.CheckpointMerger.merge(
                headlessBase("headless-2.safetensors", bare), fixture(), tmp.resolve("lib.safetensors"));
        assertEquals(HEAD, List.copyOf(result.added().keySet()), "the library reports the added tensors");
        assertEquals("base_model.model.classifier.weight", result.added().get("classifier.weight").name());
        assertEquals(12, result.merged().size());
        assertEquals(Map.of(), result.replaced());
    }

    @Test
    void aHeadThatMatchesTwoBaseTensorsIsStillAnError() throws Exception {
        Map<String, Object[]> spec = new LinkedHashMap<>(baseTensors(Function.identity()));
        spec.keySet().removeIf(n -> n.contains("classifier"));
        spec.put("model.classifier.weight", new Object[] {DType.F32, 6L, 768L});
        spec.put("transformer.classifier.weight", new Object[] {DType.F32, 6L, 768L});
        Path twice = writeBase(tmp.resolve("two-heads.safetensors"), spec);
        Path out = tmp.resolve("never-2.safetensors");
        CliRun run = CliRun.of("merge", "--base", twice.toString(), "--adapter", fixture().toString(), "--out", out.toString());
        assertEquals(ExitCodes.BAD_INPUT, run.exitCode());
        assertTrue(run.oneLineError(), run.err());
        assertTrue(run.err().contains("base_model.model.classifier.weight' matches 2 base tensors"), run.err());
        assertFalse(Files.exists(out));
    }

    /**
     * F32: the float32 sum of an 8-term float32 product, within 1e-6 of the float64 value. F16 and
     * BF16: computed in float32 and rounded once to the format, so within one unit in the last place
     * (2^-10 and 2^-7 relative; 2^-24 absolute below F16's normal range).
     */
    private static double tolerance(DType dtype, double expected) {
        switch (dtype) {
            case F16:
                return Math.max(Math.abs(expected) * 0x1p-10, 0x1p-24);
            case BF16:
                return Math.abs(expected) * 0x1p-7 + 1e-30;
            default:
                return 1e-6;
        }
    }

    /** Decodes a float tensor from its raw bytes, independently of the reader's conversion. */
    private static double[][] decode(SafetensorsFile file, TensorInfo info) {
        ByteBuffer bytes = file.rawBytes(info.name());
        int rows = (int) info.shape()[0];
        int cols = (int) info.shape()[1];
        double[][] out = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                int k = i * cols + j;
                out[i][j] = switch (info.dtype()) {
                    case F32 -> bytes.getFloat(4 * k);
                    case F16 -> HalfFloats.f16ToFloat(bytes.getShort(2 * k));
                    case BF16 -> Float.intBitsToFloat((bytes.getShort(2 * k) & 0xFFFF) << 16);
                    default -> throw new IllegalArgumentException(info.toString());
                };
            }
        }
        return out;
    }

    private static Long[] box(long[] shape) {
        return java.util.Arrays.stream(shape).boxed().toArray(Long[]::new);
    }

    /** The fixture without its modules_to_save tensors: just the LoRA factors. */
    static Path loraOnlyAdapter(Path dir) throws Exception {
        Files.createDirectories(dir);
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(fixture().resolve("adapter_model.safetensors"))) {
            f.tensors().stream().filter(t -> t.name().contains(".lora_")).forEach(t -> tensors.put(t.name(), f.read(t.name())));
        }
        SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
        PeftAdapterConfig.read(fixture()).withModulesToSave(null).write(dir.resolve("adapter_config.json"));
        return dir;
    }

    @Test
    void adapterModulesMatchBaseTensorsWithoutTheWrapperPrefix() throws Exception {
        // a checkpoint saved from DistilBertModel: no 'distilbert.' prefix, no classification head
        Map<String, Object[]> spec = new LinkedHashMap<>();
        baseTensors(n -> n.startsWith("distilbert.") ? n.substring("distilbert.".length()) : n).forEach((n, s) -> {
            if (!n.contains("classifier")) {
                spec.put(n, s);
            }
        });
        Path bare = writeBase(tmp.resolve("bare.safetensors"), spec);
        Path out = tmp.resolve("bare-merged.safetensors");
        CliRun run = CliRun.of("merge", "--base", bare.toString(), "--adapter", loraOnlyAdapter(tmp.resolve("lora-only")).toString(),
                "--out", out.toString());
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().startsWith("merged 12 LoRA modules, replaced 0 tensors"), run.out());
        try (SafetensorsFile in = SafetensorsFile.open(bare); SafetensorsFile merged = SafetensorsFile.open(out)) {
            String name = "transformer.layer.0.attention.q_lin.weight";
            assertFalse(in.rawBytes(name).equals(merged.rawBytes(name)), "merged under the stripped name");
        }
    }

    @Test
    void aModuleWithoutABaseTensorIsAnErrorNamingIt() throws Exception {
        Map<String, Object[]> spec = baseTensors(Function.identity());
        spec.remove(LAYER + "3.attention.v_lin.weight");
        Path partial = writeBase(tmp.resolve("partial.safetensors"), spec);
        Path out = tmp.resolve("never.safetensors");
        CliRun run = CliRun.of("merge", "--base", partial.toString(), "--adapter", fixture().toString(), "--out", out.toString());
        assertEquals(ExitCodes.BAD_INPUT, run.exitCode());
        assertTrue(run.oneLineError(), run.err());
        assertTrue(run.err().contains("adapter module '" + LAYER + "3.attention.v_lin' matches no base tensor"), run.err());
        assertTrue(run.err().contains(LAYER + "2.attention.v_lin.weight"), "lists candidates: " + run.err());
        assertFalse(Files.exists(out), "nothing is written");
        assertEquals("", run.out());
    }

    @Test
    void anAmbiguousMatchIsAnErrorListingTheCandidates() throws Exception {
        Map<String, Object[]> spec = new LinkedHashMap<>();
        baseTensors(n -> n.startsWith("distilbert.") ? n.substring("distilbert.".length()) : n).forEach((n, s) -> {
            if (!n.contains("classifier")) {
                spec.put(n, s);
            }
        });
        spec.put("model.distilbert.transformer.layer.0.attention.q_lin.weight", new Object[] {DType.F32, 768L, 768L});
        Path twice = writeBase(tmp.resolve("twice.safetensors"), spec);
        CliRun run = CliRun.of("merge", "--base", twice.toString(), "--adapter",
                loraOnlyAdapter(tmp.resolve("lora-only-2")).toString(), "--out", tmp.resolve("x.safetensors").toString());
        assertEquals(ExitCodes.BAD_INPUT, run.exitCode());
        assertTrue(run.oneLineError(), run.err());
        assertTrue(run.err().contains("matches 2 base tensors"), run.err());
        assertTrue(run.err().contains("transformer.layer.0.attention.q_lin.weight")
                && run.err().contains("model.distilbert.transformer.layer.0.attention.q_lin.weight"), run.err());
    }

    @Test
    void aShapeMismatchNamesBothShapes() throws Exception {
        Map<String, Object[]> spec = baseTensors(Function.identity());
        spec.put(LAYER + "1.attention.q_lin.weight", new Object[] {DType.F32, 768L, 700L});
        Path wrong = writeBase(tmp.resolve("wrong.safetensors"), spec);
        CliRun run = CliRun.of("merge", "--base", wrong.toString(), "--adapter", fixture().toString(),
                "--out", tmp.resolve("y.safetensors").toString());
        assertEquals(ExitCodes.BAD_INPUT, run.exitCode());
        assertTrue(run.oneLineError(), run.err());
        assertTrue(run.err().contains("[768, 768]") && run.err().contains("[768, 700]"), run.err());
    }

    @Test
    void usageAndFileErrorsHaveTheirExitCodes() throws Exception {
        CliRun missingOption = CliRun.of("merge", "--base", base.toString(), "--adapter", fixture().toString());
        assertEquals(ExitCodes.USAGE, missingOption.exitCode());
        assertTrue(missingOption.oneLineError(), missingOption.err());
        assertTrue(missingOption.err().contains("--out"), missingOption.err());

        CliRun noAdapter = CliRun.of("merge", "--base", base.toString(), "--adapter", tmp.resolve("nope").toString(),
                "--out", tmp.resolve("z.safetensors").toString());
        assertEquals(ExitCodes.BAD_INPUT, noAdapter.exitCode());
        assertTrue(noAdapter.oneLineError() && noAdapter.err().contains("no such file"), noAdapter.err());

        CliRun noBase = CliRun.of("merge", "--base", tmp.resolve("nope.safetensors").toString(), "--adapter",
                fixture().toString(), "--out", tmp.resolve("z.safetensors").toString());
        assertEquals(ExitCodes.BAD_INPUT, noBase.exitCode());
        assertTrue(noBase.oneLineError() && noBase.err().contains("nope.safetensors"), noBase.err());

        Path garbage = Files.write(tmp.resolve("garbage.safetensors"), new byte[] {1, 2, 3});
        CliRun badBase = CliRun.of("merge", "--base", garbage.toString(), "--adapter", fixture().toString(),
                "--out", tmp.resolve("z.safetensors").toString());
        assertEquals(ExitCodes.BAD_INPUT, badBase.exitCode());
        assertTrue(badBase.oneLineError() && badBase.err().contains("too short"), badBase.err());

        CliRun help = CliRun.of("merge", "--help");
        assertEquals(0, help.exitCode());
        assertTrue(help.out().contains("Exit codes") && help.out().contains("--base"), help.out());
        CliRun top = CliRun.of("--help");
        assertTrue(top.out().contains("inspect") && top.out().contains("merge") && top.out().contains("3   I/O error"), top.out());
        CliRun nothing = CliRun.of();
        assertEquals(ExitCodes.USAGE, nothing.exitCode());
    }
}
