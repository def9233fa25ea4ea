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
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.LoraAdapter;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.TestArrays;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * PiSSA and OLoRA adapters in files, in float64: the {@code init_lora_weights} values both ways,
 * a saved adapter loaded onto the original base (the init recomputed and its residual left in the
 * base, as PEFT's {@code load_adapter} does), PEFT's conversion to a plain LoRA adapter of rank
 * {@code 2r} for the original base ({@code path_initial_model_for_weight_conversion}), and the
 * model-free merge. Outputs are compared to 1e-12 (max-abs, outputs of order 1).
 */
class DecomposingInitFilesTest {

    private static final double TOL = 1e-12;

    @TempDir
    Path tmp;

    /** Float64: an embedding, {@code up} [12 × 8] with a bias, {@code down} [6 × 12] without. */
    static final class Net extends Module {
        final Embedding tokens;
        final Linear up;
        final Linear down;

        Net() {
            tokens = new Embedding(new Parameter(TestArrays.normal(1, 5, 8)));
            up = new Linear(new Parameter(TestArrays.normal(2, 12, 8).muli(0.3)), new Parameter(TestArrays.normal(3, 12)),
                    false);
            down = new Linear(new Parameter(TestArrays.normal(4, 6, 12).muli(0.3)), null, false);
        }

        Tensor forward(Tensor x) {
            return down.forward(up.forward(x).relu());
        }
    }

    private static final INDArray X = TestArrays.normal(9, 4, 8);

    private static INDArray output(Net net) {
        net.eval();
        return net.forward(Tensor.constant(X)).value().dup();
    }

    private static LoraConfig.Builder config(LoraInit init) {
        return LoraConfig.builder().rank(3).alpha(6).targetModules("up", "down").init(init).seed(5);
    }

    /** A few steps of plain gradient descent: A and B (and m) have moved away from their init. */
    private static LoraModel<Net> trained(LoraConfig config) {
        LoraModel<Net> lora = LoraModel.wrap(new Net(), LoraModel.DEFAULT_ADAPTER, config);
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
        LoraAdapter up = lora.layers().get("up").adapter("default");
        assertFalse(up.a().value().equalsWithEps(up.initialFactors()[0], 1e-9), "A trained");
        return lora;
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        double diff = expected.sub(actual).amaxNumber().doubleValue();
        assertTrue(diff < TOL, what + ": differs by " + diff);
    }

    private static JsonNode json(Path dir) throws Exception {
        return new ObjectMapper().readTree(dir.resolve(PeftAdapterConfig.FILE_NAME).toFile());
    }

    @Test
    void outputIsUnchangedAtStepZeroThroughTheModel() {
        INDArray base = output(new Net());
        for (LoraConfig config : List.of(config(LoraInit.PISSA).build(), config(LoraInit.PISSA).pissaNiter(4).build(),
                config(LoraInit.OLORA).build(), config(LoraInit.PISSA).rslora(true).dora(true).build())) {
            LoraModel<Net> lora = LoraModel.wrap(new Net(), LoraModel.DEFAULT_ADAPTER, config);
            assertClose(base, output(lora.model()), config.toString());
            assertFalse(lora.model().up.weight().value().equalsWithEps(new Net().up.weight().value(), 1e-6),
                    "the base holds the residual");
        }
    }

    @Test
    void initLoraWeightsMapsBothWays() throws Exception {
        Map<LoraConfig, Object> written = new LinkedHashMap<>();
        written.put(config(LoraInit.PISSA).build(), "pissa");
        written.put(config(LoraInit.PISSA).pissaNiter(16).build(), "pissa_niter_16");
        written.put(config(LoraInit.OLORA).build(), "olora");
        written.put(config(LoraInit.GAUSSIAN).build(), "gaussian");
        written.put(config(LoraInit.KAIMING_UNIFORM).build(), true);
        written.put(config(LoraInit.RANDOM).build(), false);
        for (Map.Entry<LoraConfig, Object> e : written.entrySet()) {
            LoraModel<Net> lora = LoraModel.wrap(new Net(), LoraModel.DEFAULT_ADAPTER, e.getKey());
            Path dir = Files.createTempDirectory(tmp, "map");
            Lora.save(lora, dir);
            JsonNode init = json(dir).get("init_lora_weights");
            assertEquals(e.getValue(), init.isBoolean() ? init.booleanValue() : init.textValue());
            String inspected = dev.lora4j.cli.internal.AdapterInspection.folder(dir).get(0).text();
            String shown = e.getValue() instanceof String text ? "\"" + text + "\"" : e.getValue().toString();
            assertTrue(inspected.contains(", init_lora_weights " + shown + ", "), inspected);
            LoraConfig back = Lora.load(new Net(), dir).config("default");
            assertEquals(e.getKey().init(), back.init(), e.getValue().toString());
            assertEquals(e.getKey().pissaNiter(), back.pissaNiter(), e.getValue().toString());
        }
        // PEFT reads "olora" and "gaussian" in any case, "pissa..." as written
        assertEquals(Optional.of(LoraInit.OLORA), peft("\"OLoRA\"").loraInit());
        assertEquals(Optional.of(LoraInit.GAUSSIAN), peft("\"Gaussian\"").loraInit());
        assertEquals(Optional.of(LoraInit.PISSA), peft("\"pissa_niter_0\"").loraInit());
        assertEquals(0, peft("\"pissa_niter_0\"").pissaNiter());
        assertEquals(-1, peft("\"pissa\"").pissaNiter());
        for (String odd : List.of("\"Pissa\"", "\"pissa_niter_\"", "\"pissa_niter_x\"", "\"pissa_niter_-1\"", "\"corda\"")) {
            assertEquals(Optional.empty(), peft(odd).loraInit(), odd);
        }
        LoraConfig converted = PeftConfigConverter.toLoraConfig(peft("\"pissa_niter_4\""));
        assertEquals(LoraInit.PISSA, converted.init());
        assertEquals(4, converted.pissaNiter());
        PeftConfigException e = assertThrows(PeftConfigException.class,
                () -> PeftConfigConverter.toLoraConfig(peft("\"loftq\"")));
        assertEquals("lora.json: field 'init_lora_weights' \"loftq\" is not supported by lora4j; use true, false,"
                + " \"gaussian\", \"pissa\", \"pissa_niter_N\" or \"olora\"", e.getMessage());
        assertEquals("pissa_niter_2", PeftAdapterConfig.lora(4, 8, TargetModules.names(List.of("q")))
                .withInitLoraWeights(LoraInit.PISSA, 2).toJson().get("init_lora_weights").textValue());
        assertThrows(IllegalArgumentException.class, () -> PeftAdapterConfig.lora(4, 8, TargetModules.names(List.of("q")))
                .withInitLoraWeights(LoraInit.OLORA, 2));
    }

    private static PeftAdapterConfig peft(String init) {
        return PeftAdapterConfig.parse("{\"peft_type\": \"LORA\", \"target_modules\": [\"up\"], \"init_lora_weights\": "
                + init + "}", "lora.json");
    }

    @Test
    void savedAdapterLoadedOntoTheOriginalBaseGivesTheTrainedOutputs() throws Exception {
        for (LoraConfig config : List.of(config(LoraInit.PISSA).build(), config(LoraInit.OLORA).build(),
                config(LoraInit.PISSA).dora(true).build())) {
            LoraModel<Net> lora = trained(config);
            INDArray expected = output(lora.model());
            Path dir = Files.createTempDirectory(tmp, "saved");
            Lora.save(lora, dir);
            LoraModel<Net> loaded = Lora.load(new Net(), dir);
            assertClose(expected, output(loaded.model()), config + " loaded onto the original base");
            assertClose(lora.model().up.weight().value(), loaded.model().up.weight().value(), "the same residual");
            // loading the values into an adapter whose init left the base as it was would drop the residual
            LoraModel<Net> plain = LoraModel.wrap(new Net(), LoraModel.DEFAULT_ADAPTER,
                    config.toBuilder().init(LoraInit.GAUSSIAN).build());
            RuntimeException e = assertThrows(RuntimeException.class, () -> AdapterFiles.load(plain, dir, "default"));
            assertTrue(e.getMessage().contains("init_lora_weights " + config.init().name().toLowerCase(java.util.Locale.ROOT)
                    + " (the model's: gaussian)"), e.getMessage());
        }
    }

    @Test
    void convertedAdapterOnTheOriginalBaseGivesTheTrainedOutputs() throws Exception {
        List<LoraConfig> configs = List.of(config(LoraInit.PISSA).build(), config(LoraInit.OLORA).build(),
                config(LoraInit.PISSA).pissaNiter(2).build(),
                config(LoraInit.PISSA).rslora(true).rankPattern("down", 2).alphaPattern("up", 5).build(),
                config(LoraInit.OLORA).dora(true).build());
        for (LoraConfig config : configs) {
            LoraModel<Net> lora = trained(config);
            INDArray expected = output(lora.model());
            Path dir = Files.createTempDirectory(tmp, "converted");
            AdapterFiles.save(lora, dir, AdapterSaveOptions.defaults().withConvertToPlainLora(true));

            JsonNode json = json(dir);
            assertTrue(json.get("init_lora_weights").booleanValue(), "init_lora_weights true");
            assertEquals(6, json.get("r").intValue());
            assertEquals(config.rslora() ? 6 * Math.sqrt(2) : 12, json.get("lora_alpha").doubleValue(), 1e-12);
            LoraAdapter up = lora.layers().get("up").adapter("default");
            try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(AdapterFiles.WEIGHTS_FILE))) {
                INDArray a = file.read("base_model.model.up.lora_A.weight");
                INDArray b = file.read("base_model.model.up.lora_B.weight");
                assertArrayEquals(new long[] {6, 8}, a.shape());
                assertArrayEquals(new long[] {12, 6}, b.shape());
                INDArray[] initial = up.initialFactors();
                // PEFT: A' = cat([A, A0], dim=0), B' = cat([B, -B0], dim=1)
                assertEquals(up.a().value(), a.get(NDArrayIndex.interval(0, 3)));
                assertEquals(initial[0], a.get(NDArrayIndex.interval(3, 6)));
                assertEquals(up.b().value(), b.get(NDArrayIndex.all(),
                        NDArrayIndex.interval(0, 3)));
                assertEquals(initial[1].neg(), b.get(NDArrayIndex.all(),
                        NDArrayIndex.interval(3, 6)));
            }

            Net original = new Net();
            LoraModel<Net> loaded = Lora.load(original, dir);
            assertEquals(LoraInit.KAIMING_UNIFORM, loaded.config("default").init());
            assertEquals(new Net().up.weight().value(), original.up.weight().value(), "the original base is not touched");
            assertClose(expected, output(loaded.model()), config + " converted, on the original base");
        }
    }

    /** The base checkpoint of {@link Net}, unmodified, as a safetensors file. */
    private Path baseCheckpoint() throws Exception {
        Map<String, INDArray> base = new LinkedHashMap<>();
        new Net().namedParameters().forEach((name, p) -> base.put(name, p.value().dup()));
        Path baseFile = Files.createTempDirectory(tmp, "base").resolve("base.safetensors");
        SafetensorsWriter.write(baseFile, base, Map.of("format", "pt"));
        return baseFile;
    }

    @Test
    void checkpointMergerRecomputesTheResidualAndMergesTheConversionAlike() throws Exception {
        Path baseFile = baseCheckpoint();
        for (LoraConfig config : List.of(config(LoraInit.PISSA).build(), config(LoraInit.OLORA).build(),
                config(LoraInit.PISSA).rslora(true).dora(true).rankPattern("down", 2).build())) {
            LoraModel<Net> lora = trained(config);
            Path dir = Files.createTempDirectory(tmp, "saved");
            Lora.save(lora, dir);
            Path converted = Files.createTempDirectory(tmp, "converted");
            AdapterFiles.save(lora, converted, AdapterSaveOptions.defaults().withConvertToPlainLora(true));
            lora.merge();
            for (Path adapter : List.of(dir, converted)) {
                Path out = adapter.resolve("merged.safetensors");
                CheckpointMerger.merge(baseFile, adapter, out);
                try (SafetensorsFile merged = SafetensorsFile.open(out)) {
                    for (String name : List.of("up.weight", "down.weight")) {
                        assertClose(lora.model().namedParameters().get(name).value(), merged.read(name), config + " "
                                + adapter.getFileName() + " " + name + ": model-free merge vs the in-model merge");
                    }
                }
            }
        }
        // a randomized SVD's residual cannot be recomputed: refused, nothing written
        LoraModel<Net> niter = trained(config(LoraInit.PISSA).pissaNiter(2).build());
        Path dir = Files.createTempDirectory(tmp, "niter");
        Lora.save(niter, dir);
        AdapterException e = assertThrows(AdapterException.class,
                () -> CheckpointMerger.merge(baseFile, dir, dir.resolve("merged.safetensors")));
        assertTrue(e.getMessage().contains("adapter_config.json init_lora_weights \"pissa_niter_2\": the adapter applies"
                + " to the residual of a randomized SVD"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("merged.safetensors")));
    }

    @Test
    void refusals() {
        LoraModel<Net> gaussian = LoraModel.wrap(new Net(), LoraModel.DEFAULT_ADAPTER, config(LoraInit.GAUSSIAN).build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AdapterFiles.save(gaussian,
                tmp.resolve("g"), AdapterSaveOptions.defaults().withConvertToPlainLora(true)));
        assertEquals("adapter 'default' on up was initialised with init GAUSSIAN (init_lora_weights gaussian), which"
                + " leaves the base weight unchanged: its factors already apply to the original base; save it without"
                + " convertToPlainLora", e.getMessage());
        assertFalse(Files.exists(tmp.resolve("g").resolve(AdapterFiles.WEIGHTS_FILE)));

        // an embedding among the targets: refused, naming it
        Net net = new Net();
        e = assertThrows(IllegalArgumentException.class, () -> LoraModel.wrap(net, LoraModel.DEFAULT_ADAPTER,
                config(LoraInit.PISSA).targetModules("up", "tokens").build()));
        assertTrue(e.getMessage().startsWith("tokens is a Embedding"), e.getMessage());
        assertTrue(e.getMessage().contains("init PISSA (init_lora_weights pissa) is implemented for Linear layers only"),
                e.getMessage());
        // a rank too large for the second layer: the first layer's base is not changed either
        Net other = new Net();
        e = assertThrows(IllegalArgumentException.class, () -> LoraModel.wrap(other, LoraModel.DEFAULT_ADAPTER,
                config(LoraInit.OLORA).rankPattern("down", 7).build()));
        assertTrue(e.getMessage().startsWith("down: Linear"), e.getMessage());
        assertTrue(e.getMessage().endsWith("init olora needs a rank of at most min(out, in) = 6 for a weight [6, 12], got r=7"),
                e.getMessage());
        assertEquals(new Net().up.weight().value(), other.up.weight().value(), "up keeps its weight");
        LoraModel<Net> pissa = LoraModel.wrap(new Net(), LoraModel.DEFAULT_ADAPTER, config(LoraInit.PISSA).build());
        pissa.addAdapter("other", config(LoraInit.GAUSSIAN).build());
        e = assertThrows(IllegalArgumentException.class, () -> pissa.addWeightedAdapter(List.of("other", "default"),
                List.of(1.0, 1.0), "sum", dev.lora4j.lora.CombinationType.CAT));
        assertTrue(e.getMessage().startsWith("cannot combine adapter 'default' on up: it was initialised with"
                + " init_lora_weights pissa"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> config(LoraInit.OLORA).pissaNiter(-2).build());
        IllegalArgumentException niter = assertThrows(IllegalArgumentException.class,
                () -> config(LoraInit.PISSA).pissaNiter(3).init(LoraInit.OLORA).build());
        assertEquals("LoRA pissaNiter = 3 needs init PISSA, got OLORA", niter.getMessage());
    }
}
