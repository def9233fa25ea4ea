package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.BooleanNode;
import dev.lora4j.io.internal.HalfFloats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model-free merge against an independent float64 reference computed here from the raw bytes:
 * every weight dtype (F32, F16, BF16, F64), linear, fan-in-fan-out, embedding and convolution
 * adapters, ranks that are not multiples of four, per-module rank and alpha patterns and rsLoRA, a
 * weight larger than one computing chunk whose rows straddle chunk boundaries, {@code
 * modules_to_save} tensors converted between dtypes (exactly, bit for bit) and copied tensors
 * (byte for byte).
 */
class CheckpointMergerReferenceTest {

    private static final String P = "base_model.model.";

    @TempDir
    Path tmp;

    /** One base tensor: name, dtype, shape, values. */
    private record Tensor(String name, DType dtype, long[] shape, double[] values) {}

    /** One adapted module: factors as stored, rank, and how its update lies on the weight. */
    private record Module(String path, Tensor a, Tensor b, boolean transposed) {}

    private final Random random = new Random(20);

    private Tensor tensor(String name, DType dtype, double range, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        double[] values = new double[(int) n];
        for (int i = 0; i < values.length; i++) {
            values[i] = stored(dtype, (random.nextDouble() * 2 - 1) * range);
        }
        return new Tensor(name, dtype, shape, values);
    }

    /** The value as the dtype stores it. */
    private static double stored(DType dtype, double v) {
        return switch (dtype) {
            case F64 -> v;
            case F32 -> (float) v;
            case F16 -> HalfFloats.f16ToFloat(HalfFloats.floatToF16((float) v));
            case BF16 -> HalfFloats.bf16ToFloat(HalfFloats.floatToBf16((float) v));
            default -> Math.rint(v * 100);
        };
    }

    private static ByteBuffer bytes(Tensor t) {
        ByteBuffer b = ByteBuffer.allocate(t.values.length * t.dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : t.values) {
            switch (t.dtype) {
                case F64 -> b.putDouble(v);
                case F32 -> b.putFloat((float) v);
                case F16 -> b.putShort(HalfFloats.floatToF16((float) v));
                case BF16 -> b.putShort(HalfFloats.floatToBf16((float) v));
                case I64 -> b.putLong((long) v);
                default -> throw new IllegalArgumentException(t.dtype.toString());
            }
        }
        return b.flip();
    }

    private static double[] decode(ByteBuffer b, DType dtype) {
        ByteBuffer in = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        double[] out = new double[in.remaining() / dtype.byteSize()];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (dtype) {
                case F64 -> in.getDouble(8 * i);
                case F32 -> in.getFloat(4 * i);
                case F16 -> HalfFloats.f16ToFloat(in.getShort(2 * i));
                case BF16 -> HalfFloats.bf16ToFloat(in.getShort(2 * i));
                default -> throw new IllegalArgumentException(dtype.toString());
            };
        }
        return out;
    }

    private static void write(Path file, List<Tensor> tensors, Map<String, String> metadata) throws Exception {
        SafetensorsHeader.Builder header = SafetensorsHeader.builder().metadata(metadata);
        tensors.forEach(t -> header.tensor(t.name, t.dtype, t.shape));
        try (SafetensorsWriter w = SafetensorsWriter.open(file, header.build())) {
            for (Tensor t : tensors) {
                w.write(t.name, bytes(t));
            }
            w.commit();
        }
    }

    /** {@code W + s·B·A} (or its transpose) in float64; conv factors flattened to [out, r] and [r, in·kh·kw]. */
    private static double[] reference(Tensor w, Module m, double s) {
        int r = (int) m.a.shape[0];
        int in = m.a.values.length / r;
        int out = (int) m.b.shape[0];
        double[] result = w.values.clone();
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double d = 0;
                for (int k = 0; k < r; k++) {
                    d += m.b.values[o * r + k] * m.a.values[k * in + i];
                }
                result[m.transposed ? i * out + o : o * in + i] += s * d;
            }
        }
        return result;
    }

    /** How far off the merged value may be: a few float32 rounding steps, then one rounding to a half type. */
    private static double tolerance(DType dtype, double expected, double scale) {
        double inFloat = 16 * Math.ulp((float) Math.max(scale, Math.abs(expected)));
        return switch (dtype) {
            case F64 -> 1e-12 * Math.max(1, scale);
            case F32 -> inFloat;
            case F16 -> Math.max(Math.abs(expected) * 0x1p-11, 0x1p-25) + inFloat;
            case BF16 -> Math.abs(expected) * 0x1p-8 + inFloat;
            default -> throw new IllegalArgumentException(dtype.toString());
        };
    }

    @ParameterizedTest(name = "fan_in_fan_out={0}")
    @ValueSource(booleans = {false, true})
    void everyMergedTensorMatchesTheFloat64Reference(boolean fanInFanOut) throws Exception {
        List<Tensor> base = new ArrayList<>();
        List<Tensor> adapter = new ArrayList<>();
        Map<String, Module> modules = new LinkedHashMap<>();
        Map<String, Integer> ranks = new LinkedHashMap<>();
        // linear layers: [out, in], or [in, out] with fan_in_fan_out; q is larger than one chunk
        Object[][] linears = {
            {"model.layers.0.q", DType.F32, 700, 530, 3},
            {"model.layers.0.k", DType.F16, 64, 96, 5},
            {"model.layers.0.v", DType.BF16, 96, 64, 8},
            {"model.layers.0.o", DType.F64, 40, 50, 6},
            {"model.layers.1.q", DType.F32, 33, 17, 1},
        };
        for (Object[] l : linears) {
            String path = (String) l[0];
            int out = (Integer) l[2];
            int in = (Integer) l[3];
            int r = (Integer) l[4];
            Tensor w = fanInFanOut ? tensor(path + ".weight", (DType) l[1], 1, in, out)
                    : tensor(path + ".weight", (DType) l[1], 1, out, in);
            base.add(w);
            Tensor a = tensor(P + path + ".lora_A.weight", DType.F32, 0.5, r, in);
            Tensor b = tensor(P + path + ".lora_B.weight", DType.F32, 0.5, out, r);
            adapter.add(a);
            adapter.add(b);
            modules.put(w.name, new Module(path, a, b, fanInFanOut));
            ranks.put(path, r);
        }
        // an embedding [vocab, dim]: lora_embedding_A [r, vocab], lora_embedding_B [dim, r]
        Tensor embedding = tensor("model.embed.weight", DType.F32, 1, 300, 24);
        base.add(embedding);
        Tensor ea = tensor(P + "model.embed.lora_embedding_A", DType.F16, 0.5, 4, 300);
        Tensor eb = tensor(P + "model.embed.lora_embedding_B", DType.F16, 0.5, 24, 4);
        adapter.add(ea);
        adapter.add(eb);
        modules.put(embedding.name, new Module("model.embed", ea, eb, true));
        ranks.put("model.embed", 4);
        // a convolution [out, in, kh, kw]: A [r, in, kh, kw], B [out, r, 1, 1]
        Tensor conv = tensor("model.conv.weight", DType.BF16, 1, 6, 4, 3, 3);
        base.add(conv);
        Tensor ca = tensor(P + "model.conv.lora_A.weight", DType.F32, 0.5, 2, 4, 3, 3);
        Tensor cb = tensor(P + "model.conv.lora_B.weight", DType.F64, 0.5, 6, 2, 1, 1);
        adapter.add(ca);
        adapter.add(cb);
        modules.put(conv.name, new Module("model.conv", ca, cb, false));
        ranks.put("model.conv", 2);
        // copied, and replaced by modules_to_save tensors of another dtype
        base.add(tensor("model.norm.weight", DType.F32, 1, 24));
        base.add(tensor("model.ids", DType.I64, 100, 10));
        base.add(tensor("model.head.weight", DType.F16, 1, 5, 24));
        base.add(tensor("model.head.bias", DType.BF16, 1, 5));
        Tensor headWeight = tensor(P + "model.head.weight", DType.F64, 2, 5, 24);
        Tensor headBias = tensor(P + "model.head.bias", DType.F32, 2, 5);
        adapter.add(headWeight);
        adapter.add(headBias);

        Path basePath = tmp.resolve("base.safetensors");
        write(basePath, base, Map.of("format", "pt"));
        Path dir = tmp.resolve("adapter");
        java.nio.file.Files.createDirectories(dir);
        write(dir.resolve("adapter_model.safetensors"), adapter, Map.of());
        PeftAdapterConfig config = PeftAdapterConfig.lora(8, 12, TargetModules.names(new ArrayList<>(ranks.keySet())))
                .withRankPattern(ranks)
                .withAlphaPattern(Map.of("model.layers.0.k", 3.0))
                .withUseRslora(fanInFanOut)
                .withField("fan_in_fan_out", BooleanNode.valueOf(fanInFanOut));
        config.write(dir.resolve(PeftAdapterConfig.FILE_NAME));

        Path out = tmp.resolve("merged.safetensors");
        CheckpointMerger.Result result = CheckpointMerger.merge(basePath, dir, out);
        Map<String, String> expectedMerged = new LinkedHashMap<>();
        modules.forEach((weight, m) -> expectedMerged.put(m.path, weight));
        assertEquals(expectedMerged, result.merged());
        assertEquals(Map.of(P + "model.head.weight", "model.head.weight", P + "model.head.bias", "model.head.bias"),
                result.replaced());
        assertEquals(2, result.copied());

        try (SafetensorsFile merged = SafetensorsFile.open(out); SafetensorsFile in = SafetensorsFile.open(basePath)) {
            assertEquals(in.metadata(), merged.metadata());
            assertEquals(base.size(), merged.tensors().size());
            for (int i = 0; i < base.size(); i++) {
                Tensor t = base.get(i);
                TensorInfo info = merged.tensors().get(i);
                assertEquals(t.name, info.name(), "same order");
                assertEquals(t.dtype, info.dtype(), t.name + " keeps its dtype");
                assertArrayEquals(t.shape, info.shape(), t.name);
                Module m = modules.get(t.name);
                if (m != null) {
                    double s = config.scalingFor(m.path);
                    double[] want = reference(t, m, s);
                    double[] got = decode(merged.rawBytes(t.name), t.dtype);
                    double worst = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < want.length; j++) {
                        double excess = Math.abs(got[j] - want[j]) - tolerance(t.dtype, want[j], 4 * s);
                        worst = Math.max(worst, excess);
                    }
                    assertTrue(worst <= 0, t.name + " (" + t.dtype + ") exceeds its tolerance by " + worst);
                } else if (t.name.startsWith("model.head.")) {
                    Tensor source = t.name.endsWith("weight") ? headWeight : headBias;
                    ByteBuffer got = merged.rawBytes(t.name);
                    for (int j = 0; j < source.values.length; j++) {
                        float f = (float) source.values[j];
                        short want = t.dtype == DType.F16 ? HalfFloats.floatToF16(f) : HalfFloats.floatToBf16(f);
                        assertEquals(want, got.getShort(2 * j), t.name + "[" + j + "] converted exactly");
                    }
                } else {
                    assertEquals(in.rawBytes(t.name), merged.rawBytes(t.name), t.name + " copied byte for byte");
                }
            }
        }
    }
}
