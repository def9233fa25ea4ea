package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Lora;
import dev.lora4j.api.LoraInit;
import dev.lora4j.autograd.ConvGeometry;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.cli.internal.AdapterInspection;
import dev.lora4j.lora.LoraAdapter;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Conv2d;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.Bitwise;
import dev.lora4j.testing.TestArrays;
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

/**
 * DoRA adapters in PEFT's files: {@code base_model.model.<module>.lora_magnitude_vector [out]} beside
 * the factors and {@code "use_dora": true} (PEFT's {@code LoraModel._get_adapter_state_dict} strips
 * the {@code .weight} of the in-memory name), save → load, the model-free merge against the
 * in-model one, and what is refused.
 */
class DoraAdapterFilesTest {

    private static final String P = "base_model.model.";

    @TempDir
    Path tmp;

    /** Two float32 linear layers ({@code up} with a bias, {@code down} without) and an embedding. */
    static final class Net extends Module {
        final Embedding tokens;
        final Linear up;
        final Linear down;

        Net(boolean fanInFanOut) {
            tokens = new Embedding(new Parameter(TestArrays.normal(1, 5, 8).castTo(DataType.FLOAT)));
            up = new Linear(new Parameter(weight(2, 8, 12, fanInFanOut)),
                    new Parameter(TestArrays.normal(3, 12).castTo(DataType.FLOAT)), fanInFanOut);
            down = new Linear(new Parameter(weight(4, 12, 6, fanInFanOut)), null, fanInFanOut);
        }

        private static INDArray weight(long seed, long in, long out, boolean fanInFanOut) {
            INDArray w = TestArrays.normal(seed, out, in).muli(0.3).castTo(DataType.FLOAT);
            return fanInFanOut ? w.transpose().dup('c') : w;
        }

        Tensor forward(Tensor x) {
            return down.forward(up.forward(x).relu());
        }
    }

    private static final INDArray X = TestArrays.normal(9, 4, 8).castTo(DataType.FLOAT);

    private static INDArray output(Net net) {
        net.eval();
        return net.forward(Tensor.constant(X)).value().dup();
    }

    private static LoraConfig config(boolean fanInFanOut) {
        return LoraConfig.builder().rank(3).alpha(6).dora(true).targetModules("up", "down").fanInFanOut(fanInFanOut)
                .init(LoraInit.KAIMING_UNIFORM).seed(5).build();
    }

    /** A DoRA adapter after a few steps of plain gradient descent: B, A and m have all moved. */
    private static LoraModel<Net> trained(boolean fanInFanOut) {
        LoraModel<Net> lora = LoraModel.wrap(new Net(fanInFanOut), LoraModel.DEFAULT_ADAPTER, config(fanInFanOut));
        Net net = lora.model();
        net.train();
        for (int step = 0; step < 5; step++) {
            Tensor y = net.forward(Tensor.constant(X));
            y.mul(y).sum().backward();
            for (Parameter p : net.trainableParameters()) {
                p.value().subi(p.grad().mul(0.01));
            }
            net.zeroGrad();
        }
        LoraAdapter up = LoraLayers.of(net.up).adapter("default");
        assertTrue(up.b().value().amaxNumber().doubleValue() > 0, "B trained");
        assertFalse(up.magnitude().value().equals(
                LoraModel.wrap(new Net(fanInFanOut), LoraModel.DEFAULT_ADAPTER, config(fanInFanOut)).layers().get("up").adapter("default").magnitude().value()),
                "m trained");
        return lora;
    }

    @Test
    void savedWithPeftsKeysShapesAndConfigAndLoadedBackBitwise() throws Exception {
        LoraModel<Net> lora = trained(false);
        INDArray expected = output(lora.model());
        assertFalse(Bitwise.equal(output(new Net(false)), expected), "training changed the output");
        Lora.save(lora, tmp);

        Map<String, long[]> shapes = new LinkedHashMap<>();
        try (SafetensorsFile file = SafetensorsFile.open(tmp.resolve(AdapterFiles.WEIGHTS_FILE))) {
            file.tensors().forEach(t -> shapes.put(t.name(), t.shape()));
            assertArrayEquals(LoraLayers.of(lora.model().up).adapter("default").magnitude().value().toFloatVector(),
                    file.read(P + "up.lora_magnitude_vector").toFloatVector(), "the trained m is what is saved");
        }
        assertEquals(List.of(P + "up.lora_A.weight", P + "up.lora_B.weight", P + "up.lora_magnitude_vector",
                P + "down.lora_A.weight", P + "down.lora_B.weight", P + "down.lora_magnitude_vector").stream().sorted().toList(),
                shapes.keySet().stream().sorted().toList());
        assertArrayEquals(new long[] {3, 8}, shapes.get(P + "up.lora_A.weight"));
        assertArrayEquals(new long[] {12, 3}, shapes.get(P + "up.lora_B.weight"));
        assertArrayEquals(new long[] {12}, shapes.get(P + "up.lora_magnitude_vector"));
        assertArrayEquals(new long[] {6}, shapes.get(P + "down.lora_magnitude_vector"));
        JsonNode json = new ObjectMapper().readTree(tmp.resolve(PeftAdapterConfig.FILE_NAME).toFile());
        assertTrue(json.get("use_dora").booleanValue(), "adapter_config.json says use_dora: true");

        LoraModel<Net> loaded = Lora.load(new Net(false), tmp);
        assertTrue(loaded.config("default").dora());
        assertTrue(loaded.layers().get("down").adapter("default").isDora());
        assertTrue(Bitwise.equal(expected, output(loaded.model())), "outputs after save → load are bitwise equal");
        assertEquals(lora.summary().trainable(), loaded.summary().trainable(), "the magnitudes train after loading too");

        // a second name (a new adapter on a model with adapters) and the same name (values replaced)
        AdapterFiles.load(loaded, tmp, "again");
        loaded.setActiveAdapters("again");
        assertTrue(Bitwise.equal(expected, output(loaded.model())), "loaded under another name");
        loaded.layers().get("up").adapter("default").magnitude().value().muli(2);
        AdapterFiles.load(loaded, tmp, "default");
        loaded.setActiveAdapters("default");
        assertTrue(Bitwise.equal(expected, output(loaded.model())), "reloading the same name restores m");

        loaded.merge();
        double diff = output(loaded.model()).sub(expected).amaxNumber().doubleValue();
        assertTrue(diff < 1e-5, "merged output within 1e-5 of the unmerged (float32), got " + diff);
    }

    @Test
    void checkpointMergerOnADoraAdapterEqualsTheInModelMerge() throws Exception {
        for (boolean fanInFanOut : new boolean[] {false, true}) {
            LoraModel<Net> lora = trained(fanInFanOut);
            Path dir = Files.createTempDirectory(tmp, "adapter");
            Lora.save(lora, dir);
            Map<String, INDArray> base = new LinkedHashMap<>();
            new Net(fanInFanOut).namedParameters().forEach((name, p) -> base.put("model." + name, p.value().dup()));
            Path baseFile = dir.resolve("base.safetensors");
            SafetensorsWriter.write(baseFile, base, Map.of("format", "pt"));
            Path out = dir.resolve("merged.safetensors");

            CheckpointMerger.Result result = CheckpointMerger.merge(baseFile, dir, out);
            assertEquals(Map.of("up", "model.up.weight", "down", "model.down.weight"), result.merged());
            lora.merge();
            try (SafetensorsFile merged = SafetensorsFile.open(out)) {
                for (String name : List.of("up.weight", "down.weight")) {
                    INDArray inModel = lora.model().namedParameters().get(name).value();
                    INDArray fromFile = merged.read("model." + name);
                    double diff = fromFile.sub(inModel).amaxNumber().doubleValue();
                    assertTrue(diff < 1e-6, "fan_in_fan_out=" + fanInFanOut + ": " + name
                            + " differs from the in-model DoRA merge by " + diff + " (float32, tolerance 1e-6)");
                }
                assertTrue(Bitwise.equal(base.get("model.up.bias"), merged.read("model.up.bias")), "the bias is copied");
            }
        }
    }

    @Test
    void checkpointMergerInDoubleForAnF64Base() throws Exception {
        // float64 weights: the merge works in double and matches PEFT's formula to 1e-12
        LoraModel<Net> lora = trained(false);
        Path dir = Files.createTempDirectory(tmp, "adapter");
        Lora.save(lora, dir);
        INDArray w = lora.model().up.weight().value().castTo(DataType.DOUBLE);
        Path baseFile = dir.resolve("base.safetensors");
        SafetensorsWriter.write(baseFile, Map.of("up.weight", w, "down.weight",
                lora.model().down.weight().value().castTo(DataType.DOUBLE)), Map.of("format", "pt"));
        CheckpointMerger.merge(baseFile, dir, dir.resolve("merged.safetensors"));
        LoraAdapter up = lora.layers().get("up").adapter("default");
        INDArray delta = up.b().value().castTo(DataType.DOUBLE).mmul(up.a().value().castTo(DataType.DOUBLE)).muli(2.0);
        INDArray sum = w.add(delta);
        INDArray norms = sum.norm2(1);
        INDArray expected = sum.mulColumnVector(up.magnitude().value().castTo(DataType.DOUBLE).div(norms).reshape(12, 1));
        try (SafetensorsFile merged = SafetensorsFile.open(dir.resolve("merged.safetensors"))) {
            double diff = merged.read("up.weight").sub(expected).amaxNumber().doubleValue();
            assertTrue(diff < 1e-12, "F64 DoRA merge differs from m ⊙ (W + sBA)/‖W + sBA‖ by " + diff);
        }
    }

    @Test
    void inspectShowsTheVariantAndCountsTheMagnitude() throws Exception {
        Lora.save(trained(false), tmp);
        AdapterInspection inspection = AdapterInspection.folder(tmp).get(0);
        AdapterInspection.Module up = inspection.modules().stream().filter(m -> m.path().equals("up")).findFirst().orElseThrow();
        assertEquals("linear+dora", up.kind());
        assertTrue(up.dora());
        assertEquals(3 * 8 + 12 * 3 + 12, up.parameters(), "A, B and m");
        assertTrue(inspection.text().contains("use_dora true"), inspection.text());
        assertEquals("dora", inspection.json().get("modules").get(0).get("variant").textValue());
    }

    /** A float32 3×3 convolution 2 → 4 channels, padding 1, with a bias. */
    static final class ConvNet extends Module {
        final Conv2d conv = new Conv2d(new Parameter(TestArrays.normal(11, 4, 2, 3, 3).muli(0.3).castTo(DataType.FLOAT)),
                new Parameter(TestArrays.normal(12, 4).castTo(DataType.FLOAT)), ConvGeometry.of(1, 1));
    }

    @Test
    void aConvolutionDoraAdapterSavesPeftsShapeLoadsAndMergesLikeTheModel() throws Exception {
        Tensor x = Tensor.constant(TestArrays.normal(13, 2, 2, 5, 5).castTo(DataType.FLOAT));
        LoraModel<ConvNet> lora = LoraModel.wrap(new ConvNet(), LoraModel.DEFAULT_ADAPTER, LoraConfig.builder().rank(2).alpha(4).dora(true)
                .targetModules("conv").seed(3).build());
        LoraAdapter adapter = lora.layers().get("conv").adapter("default");
        adapter.b().value().assign(TestArrays.normal(14, 4, 2, 1, 1).castTo(DataType.FLOAT));
        adapter.magnitude().value().muli(TestArrays.uniform(15, 0.5, 1.5, 1, 4, 1, 1).castTo(DataType.FLOAT));
        INDArray expected = lora.model().conv.forward(x).value().dup();
        Lora.save(lora, tmp);
        try (SafetensorsFile file = SafetensorsFile.open(tmp.resolve(AdapterFiles.WEIGHTS_FILE))) {
            assertArrayEquals(new long[] {1, 4, 1, 1}, file.info(P + "conv.lora_magnitude_vector").shape(),
                    "PEFT's convolution magnitude shape");
        }
        LoraModel<ConvNet> loaded = Lora.load(new ConvNet(), tmp);
        assertTrue(Bitwise.equal(expected, loaded.model().conv.forward(x).value()), "save → load is bitwise");

        Path baseFile = tmp.resolve("base.safetensors");
        SafetensorsWriter.write(baseFile, Map.of("conv.weight", new ConvNet().conv.weight().value(),
                "conv.bias", new ConvNet().conv.bias().value()), Map.of("format", "pt"));
        CheckpointMerger.merge(baseFile, tmp, tmp.resolve("merged.safetensors"));
        lora.merge();
        try (SafetensorsFile merged = SafetensorsFile.open(tmp.resolve("merged.safetensors"))) {
            double diff = merged.read("conv.weight").sub(lora.model().conv.weight().value()).amaxNumber().doubleValue();
            assertTrue(diff < 1e-6, "the model-free convolution DoRA merge differs from the in-model one by " + diff);
        }
        double diff = lora.model().conv.forward(x).value().sub(expected).amaxNumber().doubleValue();
        assertTrue(diff < 1e-5, "merged output within 1e-5 of the unmerged (float32), got " + diff);
    }

    // ---- refusals ---------------------------------------------------------------------------------

    /** A copy of a saved DoRA adapter with its tensors and config edited. */
    private Path variant(Consumer<Map<String, INDArray>> tensors, UnaryOperator<PeftAdapterConfig> config) throws Exception {
        Path good = Files.createTempDirectory(tmp, "good");
        Lora.save(trained(false), good);
        Map<String, INDArray> all = new LinkedHashMap<>();
        try (SafetensorsFile file = SafetensorsFile.open(good.resolve(AdapterFiles.WEIGHTS_FILE))) {
            file.tensors().forEach(t -> all.put(t.name(), file.read(t.name())));
        }
        tensors.accept(all);
        Path dir = Files.createTempDirectory(tmp, "variant");
        SafetensorsWriter.write(dir.resolve(AdapterFiles.WEIGHTS_FILE), all, Map.of("format", "pt"));
        config.apply(PeftAdapterConfig.read(good.resolve(PeftAdapterConfig.FILE_NAME)))
                .write(dir.resolve(PeftAdapterConfig.FILE_NAME));
        return dir;
    }

    /** The load error for {@code dir}; the fresh model is left without adapters. */
    private static String loadFails(Path dir) {
        Net net = new Net(false);
        Map<String, Object[]> before = Bitwise.snapshot(net);
        AdapterException e = assertThrows(AdapterException.class, () -> Lora.load(net, dir));
        assertEquals(Map.of(), Bitwise.differences(before, net), "the model is exactly as before");
        assertEquals(null, LoraLayers.of(net.up), "no adapter attached");
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    /** The model-free merge's error for {@code dir}. */
    private String mergeFails(Path dir) throws Exception {
        Path base = dir.resolve("base.safetensors");
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        new Net(false).namedParameters().forEach((name, p) -> tensors.put(name, p.value()));
        SafetensorsWriter.write(base, tensors, Map.of("format", "pt"));
        Path out = dir.resolve("merged.safetensors");
        AdapterException e = assertThrows(AdapterException.class, () -> CheckpointMerger.merge(base, dir, out));
        assertFalse(Files.exists(out), "nothing written");
        return e.getMessage();
    }

    private static void assertMentions(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), "message must name '" + part + "': " + message);
        }
    }

    @Test
    void aMagnitudeVectorOfTheWrongShapeIsNamed() throws Exception {
        Path dir = variant(t -> t.put(P + "up.lora_magnitude_vector", TestArrays.normal(1, 6).castTo(DataType.FLOAT)),
                c -> c);
        assertMentions(loadFails(dir), P + "up.lora_magnitude_vector", "[6]", "[12]", "up");
        assertMentions(mergeFails(dir), P + "up.lora_magnitude_vector", "[6]", "[12]");
        Path matrix = variant(t -> t.put(P + "up.lora_magnitude_vector", TestArrays.normal(1, 12, 1).castTo(DataType.FLOAT)),
                c -> c);
        assertMentions(loadFails(matrix), P + "up.lora_magnitude_vector", "[12, 1]", "[out]");
    }

    @Test
    void aMissingMagnitudeVectorIsNamed() throws Exception {
        Path dir = variant(t -> t.remove(P + "down.lora_magnitude_vector"), c -> c);
        assertMentions(loadFails(dir), P + "down.lora_magnitude_vector", "missing", "use_dora");
        assertMentions(mergeFails(dir), P + "down.lora_magnitude_vector", "missing", "use_dora");
    }

    @Test
    void aMagnitudeVectorWithoutUseDoraIsRefused() throws Exception {
        Path dir = variant(t -> {}, c -> c.withUseDora(false));
        assertMentions(loadFails(dir), ".lora_magnitude_vector'", "does not set use_dora");
        assertMentions(mergeFails(dir), "lora_magnitude_vector", "does not set use_dora");
    }

    @Test
    void aMagnitudeVectorWithoutFactorsIsNamed() throws Exception {
        Path dir = variant(t -> {
            t.remove(P + "down.lora_A.weight");
            t.remove(P + "down.lora_B.weight");
        }, c -> c.withTargetModules(TargetModules.names("up")));
        assertMentions(loadFails(dir), P + "down.lora_magnitude_vector", "no factors");
    }

    @Test
    void theInMemoryNameIsRefusedAndPeftsOtherAcceptedNameLoads() throws Exception {
        Path inMemory = variant(t -> t.put(P + "up.lora_magnitude_vector.default.weight",
                t.remove(P + "up.lora_magnitude_vector")), c -> c);
        assertMentions(loadFails(inMemory), P + "up.lora_magnitude_vector.default.weight", "not a PEFT adapter key");
        // PEFT's loader appends ".weight" to "...lora_magnitude_vector" and takes a key that has it already
        Path withWeight = variant(t -> t.put(P + "up.lora_magnitude_vector.weight", t.remove(P + "up.lora_magnitude_vector")),
                c -> c);
        Path plain = variant(t -> {}, c -> c);
        assertTrue(Bitwise.equal(output(Lora.load(new Net(false), plain).model()),
                output(Lora.load(new Net(false), withWeight).model())));
        Path both = variant(t -> t.put(P + "up.lora_magnitude_vector.weight", t.get(P + "up.lora_magnitude_vector")), c -> c);
        assertMentions(loadFails(both), P + "up.lora_magnitude_vector", P + "up.lora_magnitude_vector.weight", "both");
    }

    @Test
    void anEmbeddingMagnitudeOfTheWrongShapeIsNamed() throws Exception {
        Path dir = variant(t -> {
            t.put(P + "tokens.lora_embedding_A", TestArrays.normal(1, 3, 5).castTo(DataType.FLOAT));
            t.put(P + "tokens.lora_embedding_B", TestArrays.normal(2, 8, 3).castTo(DataType.FLOAT));
            t.put(P + "tokens.lora_magnitude_vector", TestArrays.normal(3, 5).castTo(DataType.FLOAT));
        }, c -> c.withTargetModules(TargetModules.names("up", "down", "tokens")));
        assertMentions(loadFails(dir), P + "tokens.lora_magnitude_vector", "[5]", "[8]", "tokens");
        assertMentions(mergeFails(dir), P + "tokens.lora_magnitude_vector", "[5]", "[8]");
    }

    @Test
    void anEmbeddingDoraAdapterSavesLoadsAndMergesLikeTheModel() throws Exception {
        INDArray ids = org.nd4j.linalg.factory.Nd4j.createFromArray(new int[][] {{0, 3, 4, 3}});
        LoraModel<Net> lora = LoraModel.wrap(new Net(false), LoraModel.DEFAULT_ADAPTER, config(false).toBuilder()
                .targetModules("up", "down", "tokens").build());
        LoraAdapter tokens = lora.layers().get("tokens").adapter("default");
        tokens.a().value().assign(TestArrays.normal(5, 3, 5).castTo(DataType.FLOAT));
        tokens.magnitude().value().muli(TestArrays.uniform(6, 0.5, 1.5, 8).castTo(DataType.FLOAT));
        INDArray expected = lora.model().tokens.forward(ids).value().dup();
        Lora.save(lora, tmp);
        try (SafetensorsFile file = SafetensorsFile.open(tmp.resolve(AdapterFiles.WEIGHTS_FILE))) {
            assertArrayEquals(new long[] {8}, file.info(P + "tokens.lora_magnitude_vector").shape(), "m is [dim]");
        }
        LoraModel<Net> loaded = Lora.load(new Net(false), tmp);
        assertTrue(Bitwise.equal(expected, loaded.model().tokens.forward(ids).value()), "save → load is bitwise");

        Path baseFile = tmp.resolve("base.safetensors");
        SafetensorsWriter.write(baseFile, Map.of("tokens.weight", new Net(false).tokens.weight().value()), Map.of("format", "pt"));
        // an adapter on the embedding only (the base holds only it), with the values above
        Path only = Files.createTempDirectory(tmp, "tokens");
        Lora.save(LoraModel.wrap(new Net(false), LoraModel.DEFAULT_ADAPTER, config(false).toBuilder().targetModules("tokens").build()), only);
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        tensors.put(P + "tokens.lora_embedding_A", tokens.a().value());
        tensors.put(P + "tokens.lora_embedding_B", tokens.b().value());
        tensors.put(P + "tokens.lora_magnitude_vector", tokens.magnitude().value());
        SafetensorsWriter.write(only.resolve(AdapterFiles.WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        CheckpointMerger.merge(baseFile, only, tmp.resolve("merged.safetensors"));
        lora.merge();
        try (SafetensorsFile merged = SafetensorsFile.open(tmp.resolve("merged.safetensors"))) {
            double diff = merged.read("tokens.weight").sub(lora.model().tokens.weight().value()).amaxNumber().doubleValue();
            assertTrue(diff < 1e-6, "the model-free embedding DoRA merge differs from the in-model one by " + diff);
        }
    }
}
