package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.testing.Bitwise;
import dev.lora4j.testing.DistilBertLike;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Loading is all-or-nothing: each broken variant of the real PEFT fixture fails with one line naming
 * the tensor (and both shapes where shapes differ), and the model is left bitwise as it was, trainable
 * flags included.
 */
class AdapterLoadFailureTest {

    private static final String P = "base_model.model.";
    private static final String LAYER = P + "distilbert.transformer.layer.";

    @TempDir
    Path tmp;

    /** A copy of the fixture with its tensors and config edited. */
    private Path variant(Consumer<Map<String, INDArray>> tensors, UnaryOperator<PeftAdapterConfig> config) throws Exception {
        Path fixture = AdapterFilesFixtureTest.fixture();
        Map<String, INDArray> all = new LinkedHashMap<>();
        try (SafetensorsFile file = SafetensorsFile.open(fixture.resolve("adapter_model.safetensors"))) {
            file.tensors().forEach(t -> all.put(t.name(), file.read(t.name())));
        }
        tensors.accept(all);
        Path dir = Files.createTempDirectory(tmp, "variant");
        SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), all, Map.of("format", "pt"));
        config.apply(PeftAdapterConfig.read(fixture)).write(dir.resolve("adapter_config.json"));
        return dir;
    }

    private Path variant(Consumer<Map<String, INDArray>> tensors) throws Exception {
        return variant(tensors, c -> c);
    }

    /** Loads {@code dir} into a fresh model, expects failure, checks the model is untouched; gives the message. */
    private static String failsLeavingTheModelUntouched(Path dir, int layers) {
        DistilBertLike model = new DistilBertLike(layers, 768, 6, 3);
        Map<String, Object[]> before = Bitwise.snapshot(model);
        AdapterException e = assertThrows(AdapterException.class, () -> Lora.load(model, dir));
        assertEquals(Map.of(), Bitwise.differences(before, model), "the model must be exactly as before");
        model.namedModules().forEach((path, m) -> {
            if (m instanceof dev.lora4j.nn.Linear linear) {
                assertEquals(null, LoraLayers.of(linear), path + " must carry no adapter");
            }
        });
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    private static void assertMentions(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), "message must name '" + part + "': " + message);
        }
    }

    @Test
    void wrongRank() throws Exception {
        String a = LAYER + "2.attention.q_lin.lora_A.weight";
        String b = LAYER + "2.attention.q_lin.lora_B.weight";
        Path dir = variant(t -> {
            t.put(a, t.get(a).get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 4),
                    org.nd4j.linalg.indexing.NDArrayIndex.all()).dup());
            t.put(b, t.get(b).get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 4)).dup());
        });
        assertMentions(failsLeavingTheModelUntouched(dir, 6), a, "[4, 768]", "[8, 768]", "r=8");
    }

    @Test
    void rankInTheConfigThatTheTensorsDoNotHave() throws Exception {
        Path dir = variant(t -> { }, c -> c.withRankPattern(Map.of("v_lin", 16)));
        assertMentions(failsLeavingTheModelUntouched(dir, 6), LAYER + "0.attention.v_lin.lora_A.weight",
                "[8, 768]", "[16, 768]");
    }

    @Test
    void wrongShape() throws Exception {
        String b = LAYER + "3.attention.v_lin.lora_B.weight";
        Path dir = variant(t -> t.put(b, Nd4j.zeros(DataType.FLOAT, 700, 8)));
        assertMentions(failsLeavingTheModelUntouched(dir, 6), b, "[700, 8]", "[768, 8]");
    }

    @Test
    void missingModule() throws Exception {
        Path dir = variant(t -> { });
        assertMentions(failsLeavingTheModelUntouched(dir, 5), LAYER + "5.attention.", "lora_A.weight",
                "the model does not have");
    }

    @Test
    void extraLoraTensorsForAModuleTheConfigDoesNotTarget() throws Exception {
        String a = LAYER + "0.attention.k_lin.lora_A.weight";
        Path dir = variant(t -> {
            t.put(a, Nd4j.zeros(DataType.FLOAT, 8, 768));
            t.put(LAYER + "0.attention.k_lin.lora_B.weight", Nd4j.zeros(DataType.FLOAT, 768, 8));
        });
        assertMentions(failsLeavingTheModelUntouched(dir, 6), a, "does not target");
    }

    @Test
    void extraTensorThatMatchesNothing() throws Exception {
        String extra = P + "distilbert.embeddings.position_ids";
        Path dir = variant(t -> t.put(extra, Nd4j.zeros(DataType.FLOAT, 1, 512)));
        assertMentions(failsLeavingTheModelUntouched(dir, 6), extra, "[1, 512]", "matches no");
    }

    @Test
    void targetsThatSelectNothing() throws Exception {
        Path dir = variant(t -> t.keySet().removeIf(k -> k.contains(".lora_")),
                c -> c.withTargetModules(TargetModules.names("query")));
        assertMentions(failsLeavingTheModelUntouched(dir, 6), "[query]", "select no module");
    }

    @Test
    void missingModulesToSaveTensor() throws Exception {
        Path dir = variant(t -> t.remove(P + "classifier.bias"));
        assertMentions(failsLeavingTheModelUntouched(dir, 6), P + "classifier.bias", "[6]", "is missing");
    }

    @Test
    void integerTensor() throws Exception {
        String a = LAYER + "0.attention.q_lin.lora_A.weight";
        Path dir = variant(t -> t.put(a, t.get(a).castTo(DataType.INT32)));
        assertMentions(failsLeavingTheModelUntouched(dir, 6), a, "I32");
    }

    @Test
    void aFailedSecondLoadLeavesTheLoraModelAsItWas() throws Exception {
        DistilBertLike model = DistilBertLike.forFixture(3);
        LoraModel<DistilBertLike> lora = Lora.load(model, AdapterFilesFixtureTest.fixture());
        Map<String, Object[]> before = Bitwise.snapshot(model);
        String b = LAYER + "1.attention.q_lin.lora_B.weight";
        Path dir = variant(t -> t.put(b, Nd4j.zeros(DataType.FLOAT, 760, 8)));
        AdapterException e = assertThrows(AdapterException.class, () -> AdapterFiles.load(lora, dir, "second"));
        assertMentions(e.getMessage(), b, "[760, 8]", "[768, 8]");
        assertEquals(Map.of(), Bitwise.differences(before, model));
        assertEquals(List.of("default"), List.copyOf(lora.adapterNames()));
        lora.layers().values().forEach(layer -> assertEquals(List.of("default"), List.copyOf(layer.adapters().keySet())));
        AdapterException into = assertThrows(AdapterException.class, () -> AdapterFiles.load(lora, dir, "default"),
                "the same misshapen file into the existing name");
        assertMentions(into.getMessage(), b, "[760, 8]", "[768, 8]");
        assertEquals(Map.of(), Bitwise.differences(before, model));
    }

    @Test
    void halfAndDoublePrecisionTensorsConvertToTheLayersType() throws Exception {
        Path dir = variant(t -> t.replaceAll((name, v) -> name.endsWith("lora_A.weight") ? v.castTo(DataType.FLOAT16)
                : name.endsWith("lora_B.weight") ? v.castTo(DataType.BFLOAT16) : v.castTo(DataType.DOUBLE)));
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
            assertEquals(DType.F16, f.info(LAYER + "0.attention.q_lin.lora_A.weight").dtype());
            assertEquals(DType.BF16, f.info(LAYER + "0.attention.q_lin.lora_B.weight").dtype());
            assertEquals(DType.F64, f.info(P + "classifier.weight").dtype());
        }
        DistilBertLike model = DistilBertLike.forFixture(3);
        LoraModel<DistilBertLike> lora = Lora.load(model, dir);
        try (SafetensorsFile original = SafetensorsFile.open(AdapterFilesFixtureTest.fixture().resolve("adapter_model.safetensors"))) {
            var adapter = lora.layers().get("distilbert.transformer.layer.0.attention.q_lin").adapter("default");
            assertEquals(DataType.FLOAT, adapter.a().dataType());
            assertEquals(DataType.FLOAT, adapter.b().dataType());
            INDArray a = original.read(LAYER + "0.attention.q_lin.lora_A.weight");
            INDArray b = original.read(LAYER + "0.attention.q_lin.lora_B.weight");
            double aErr = adapter.a().value().sub(a).amaxNumber().doubleValue() / a.amaxNumber().doubleValue();
            double bErr = adapter.b().value().sub(b).amaxNumber().doubleValue() / b.amaxNumber().doubleValue();
            assertTrue(aErr <= Math.pow(2, -11), "F16 keeps 11 significant bits: " + aErr);
            assertTrue(bErr <= Math.pow(2, -8), "BF16 keeps 8 significant bits: " + bErr);
            assertTrue(Bitwise.equal(original.read(P + "classifier.weight"), model.classifier.weight().value()),
                    "F32 → F64 → F32 is exact");
        }
    }

}
