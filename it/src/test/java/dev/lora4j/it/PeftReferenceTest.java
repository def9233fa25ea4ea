package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Lora;
import dev.lora4j.api.LoraInit;
import dev.lora4j.autograd.ConvGeometry;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.io.AdapterFiles;
import dev.lora4j.io.AdapterSaveOptions;
import dev.lora4j.io.ModelCheckpoint;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.SafetensorsWriter;
import dev.lora4j.it.bench.TorchPeer;
import dev.lora4j.lora.LoraAdapter;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraLayer;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Activation;
import dev.lora4j.nn.Conv2d;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.Flatten;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Sequential;
import dev.lora4j.nn.UnaryModule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The lora4j → PEFT direction, checked against an independent reference (issue 16, "The other
 * direction"): {@code it/src/test/python/peft_reference.py} re-implements PEFT's LoRA and DoRA
 * forward pass in PyTorch from PEFT's formulas (no PEFT needed), reads an adapter directory written
 * by {@link Lora#save} and a base checkpoint written by {@link ModelCheckpoint#save}, decides by
 * PEFT's rules which modules get which adapter (target_modules, exclude_modules, layers_to_transform,
 * layers_pattern, modules_to_save, rank_pattern, alpha_pattern, use_rslora, use_dora), and computes
 * the logits, which must equal lora4j's on the
 * same inputs.
 *
 * <p>Each case builds a small model, wraps it, gives every adapter factor (and DoRA magnitude, and
 * module to save) random values so that the adapters change the output, and compares. Tolerance
 * (both sides float32, summing in different orders): {@code max |lora4j − reference| ≤ 1e-5 ·
 * max(1, max |reference|)}. The script also reports what it adapted (module, rank, scaling), which
 * must be what lora4j adapted.
 *
 * <p>Needs {@code /usr/bin/python3} with torch (Debian's {@code python3-torch}); without it every
 * case is skipped, with a message saying so.
 */
class PeftReferenceTest {

    private static final Path SCRIPT = Path.of("src/test/python/peft_reference.py").toAbsolutePath();

    /** Relative to the largest logit (at least 1): float32 on both sides, sums in different orders. */
    private static final double TOLERANCE = 1e-5;

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** Why the reference cannot run here (no torch in {@code /usr/bin/python3}), or empty; checked once. */
    private static Optional<String> unavailable;

    @BeforeAll
    static void checkTorch() {
        unavailable = TorchPeer.unavailable();
        unavailable.ifPresent(reason -> System.out.println("PyTorch peer check skipped: " + reason));
    }

    @BeforeEach
    void needsTorch() {
        // per test, so that each case is reported as skipped, with the reason
        Assumptions.assumeTrue(unavailable.isEmpty(), () -> "PyTorch peer check skipped: " + unavailable.orElse(""));
    }

    // ------------------------------------------------------------------ the cases

    @Test
    void loraOnLinearLayersWithAModuleToSave() throws Exception {
        Random random = new Random(1);
        Sequential mlp = mlp(random);
        LoraConfig config = LoraConfig.builder().rank(4).alpha(8).dropout(0.1).targetModules("layers.0", "layers.2")
                .modulesToSave("layers.4").seed(11).build();
        LoraModel<Sequential> lora = check("lora", mlp, describe(mlp), features(random, 5, 6), config);
        assertEquals(List.of("layers.4"), lora.modulesToSave("default"));
    }

    @Test
    void rsloraScalesByAlphaOverTheSquareRootOfTheRankAndExcludedModulesStayPlain() throws Exception {
        Random random = new Random(2);
        Sequential mlp = mlp(random);
        // exclude_modules wins over target_modules (PEFT's check_target_module_exists)
        LoraConfig config = LoraConfig.builder().rank(4).alpha(8).rslora(true)
                .targetModules("layers.0", "layers.2", "layers.4").excludeModules("layers.2").seed(12).build();
        LoraModel<Sequential> lora = check("rslora", mlp, describe(mlp), features(random, 5, 6), config);
        assertEquals(List.of("layers.0", "layers.4"), List.copyOf(lora.layers().keySet()));

        // the check can fail: the same files with use_rslora flipped give other logits (scaling 2 instead of 4)
        Path dir = tmp.resolve("rslora");
        Path configFile = dir.resolve("adapter/adapter_config.json");
        ObjectNode json = (ObjectNode) JSON.readTree(configFile.toFile());
        assertTrue(json.get("use_rslora").booleanValue());
        json.put("use_rslora", false);
        JSON.writeValue(configFile.toFile(), json);
        INDArray expected = readLogits(dir);
        INDArray flipped = runReference(dir);
        double diff = maxAbsDiff(flipped, expected);
        assertTrue(diff > 100 * TOLERANCE * scale(expected),
                "with use_rslora flipped the reference's logits move by only " + diff);
    }

    @Test
    void doraOnLinearLayers() throws Exception {
        Random random = new Random(3);
        Sequential mlp = mlp(random);
        LoraConfig config = LoraConfig.builder().rank(3).alpha(6).dora(true)
                .targetModules("layers.0", "layers.2", "layers.4").seed(13).build();
        check("dora", mlp, describe(mlp), features(random, 5, 6), config);
    }

    @Test
    void rankAndAlphaPatternsWithATargetRegex() throws Exception {
        Random random = new Random(4);
        Sequential mlp = mlp(random);
        // PEFT's pattern keys: "2" matches layers.2 as a '.'-suffix, "layers\.[04]" as a regex
        LoraConfig config = LoraConfig.builder().rank(4).alpha(8).targetRegex("layers\\.[024]")
                .rankPattern("2", 2).alphaPattern("layers\\.[04]", 3).seed(14).build();
        LoraModel<Sequential> lora = check("patterns", mlp, describe(mlp), features(random, 5, 6), config);
        assertEquals(2, lora.layers().get("layers.2").adapter("default").spec().rank());
        assertEquals(3.0, lora.layers().get("layers.4").adapter("default").spec().alpha());
        assertEquals(3.0 / 4, lora.layers().get("layers.0").adapter("default").scaling());
    }

    @Test
    void loraOnAnEmbeddingAndALinearHead() throws Exception {
        LoraConfig config = LoraConfig.builder().rank(3).alpha(4).targetModules("tokens", "head").seed(15).build();
        TokenNet net = new TokenNet(new Random(5));
        check("embedding", net, net.describe(), ids(new Random(6)), config);
    }

    @Test
    void doraOnAnEmbeddingAndALinearHead() throws Exception {
        LoraConfig config = LoraConfig.builder().rank(3).alpha(4).dora(true).targetModules("tokens", "head").seed(16)
                .build();
        TokenNet net = new TokenNet(new Random(7));
        check("embedding-dora", net, net.describe(), ids(new Random(8)), config);
    }

    @Test
    void loraOnConvolutions() throws Exception {
        Random random = new Random(9);
        Sequential cnn = cnn(random);
        LoraConfig config = LoraConfig.builder().rank(3).alpha(5).targetModules("layers.0", "layers.2", "layers.5")
                .seed(17).build();
        check("conv", cnn, describe(cnn), features(random, 3, 2, 5, 5), config);
    }

    @Test
    void doraOnConvolutions() throws Exception {
        Random random = new Random(10);
        Sequential cnn = cnn(random);
        LoraConfig config = LoraConfig.builder().rank(3).alpha(5).dora(true)
                .targetModules("layers.0", "layers.2", "layers.5").seed(18).build();
        check("conv-dora", cnn, describe(cnn), features(random, 3, 2, 5, 5), config);
    }

    // ------------------------------------------------------------------ the models

    @Test
    void layersToTransformKeepsTheChosenLayersByPeftsLayerIndex() throws Exception {
        Random random = new Random(9);
        Deep deep = new Deep(random);
        // suffix "fc" matches all three; the layer index (the number after the first non-leading segment) keeps 0 and 4
        LoraConfig config = LoraConfig.builder().rank(2).alpha(4).targetModules("fc").layersToTransform(0, 4).seed(19)
                .build();
        LoraModel<Deep> lora = check("layers", deep, deep.describe(), features(random, 5, 6), config);
        assertEquals(List.of("encoder.layers.0.fc", "encoder.layers.4.fc"), List.copyOf(lora.layers().keySet()));
    }

    @Test
    void layersPatternNamesTheSegmentBeforeTheLayerIndex() throws Exception {
        Random random = new Random(10);
        Deep deep = new Deep(random);
        LoraConfig config = LoraConfig.builder().rank(3).alpha(3).targetModules("fc").layersPattern("layers")
                .layersToTransform(2).dora(true).seed(20).build();
        LoraModel<Deep> lora = check("layers-pattern", deep, deep.describe(), features(random, 5, 6), config);
        assertEquals(List.of("encoder.layers.2.fc"), List.copyOf(lora.layers().keySet()));
    }

    @Test
    void allLinearIsSavedAsTheLayersItChose() throws Exception {
        Random random = new Random(11);
        Deep deep = new Deep(random);
        LoraConfig config = LoraConfig.builder().rank(2).alpha(8).targetAllLinear().seed(21).build();
        LoraModel<Deep> lora = check("all-linear", deep, deep.describe(), features(random, 5, 6), config);
        assertEquals(List.of("encoder.layers.0.fc", "encoder.layers.2.fc", "encoder.layers.4.fc"),
                List.copyOf(lora.layers().keySet()), "no output layer by PEFT's names here: every Linear");
    }

    @Test
    void pissaTrainedAndConvertedIsAPlainLoraAdapterForTheOriginalBase() throws Exception {
        Random random = new Random(12);
        Sequential mlp = mlp(random);
        // PiSSA moves the principal part of W into A and B and leaves the residual in the model; the base file
        // is the original W, so only the converted adapter (A' = [A; A0], B' = [B, -B0]) can reproduce the model
        LoraConfig config = LoraConfig.builder().rank(2).alpha(4).init(LoraInit.PISSA)
                .targetModules("layers.0", "layers.2").seed(22).build();
        check("pissa", mlp, describe(mlp), features(random, 5, 6), config,
                AdapterSaveOptions.defaults().withConvertToPlainLora(true));
    }

    @Test
    void oloraTrainedAndConvertedIsAPlainLoraAdapterForTheOriginalBase() throws Exception {
        Random random = new Random(13);
        Sequential mlp = mlp(random);
        LoraConfig config = LoraConfig.builder().rank(3).alpha(3).init(LoraInit.OLORA)
                .targetModules("layers.2", "layers.4").seed(23).build();
        check("olora", mlp, describe(mlp), features(random, 5, 6), config,
                AdapterSaveOptions.defaults().withConvertToPlainLora(true));
    }

    /** layers.0 Linear(6, 16), ReLU, layers.2 Linear(16, 12) without bias, ReLU, layers.4 Linear(12, 4). */
    private static Sequential mlp(Random random) {
        return new Sequential(new Linear(6, 16, true, random), Activation.relu(), new Linear(16, 12, false, random),
                Activation.relu(), new Linear(12, 4, true, random));
    }

    /**
     * layers.0 Conv2d(2 → 4, 3x3, padding 1), ReLU, layers.2 Conv2d(4 → 6, 3x2, stride 2, padding 1,
     * no bias), ReLU, Flatten, layers.5 Linear(6·3·3, 3), over 5x5 inputs.
     */
    private static Sequential cnn(Random random) {
        return new Sequential(new Conv2d(2, 4, 3, 3, ConvGeometry.of(1, 1), true, random), Activation.relu(),
                new Conv2d(4, 6, 3, 2, new ConvGeometry(2, 2, 1, 1, 1, 1, 1), false, random), Activation.relu(),
                new Flatten(), new Linear(6 * 3 * 3, 3, true, random));
    }

    /** Token ids → tokens (Embedding(10, 8)) → head (Linear(8, 5)): logits per position. */
    static final class TokenNet extends Module {
        final Embedding tokens;
        final Linear head;

        TokenNet(Random random) {
            tokens = new Embedding(10, 8, random);
            head = new Linear(8, 5, true, random);
        }

        Tensor forward(INDArray ids) {
            return head.forward(tokens.forward(ids));
        }

        ArrayNode describe() {
            ArrayNode layers = JSON.createArrayNode();
            layers.addObject().put("type", "embedding").put("module", "tokens");
            layers.addObject().put("type", "linear").put("module", "head");
            return layers;
        }
    }

    /** A Linear in a block of its own, so that its path has a layer index: {@code encoder.layers.<i>.fc}. */
    static final class Block extends Module implements UnaryModule {
        final Linear fc;

        Block(Linear fc) {
            this.fc = fc;
        }

        @Override
        public Tensor forward(Tensor x) {
            return fc.forward(x);
        }
    }

    /** encoder.layers.0.fc Linear(6, 16), ReLU, .2.fc Linear(16, 12) without bias, ReLU, .4.fc Linear(12, 4). */
    static final class Deep extends Module {
        final Sequential encoder;

        Deep(Random random) {
            encoder = new Sequential(new Block(new Linear(6, 16, true, random)), Activation.relu(),
                    new Block(new Linear(16, 12, false, random)), Activation.relu(), new Block(new Linear(12, 4, true, random)));
        }

        Tensor forward(INDArray x) {
            return encoder.forward(Tensor.constant(x));
        }

        ArrayNode describe() {
            ArrayNode layers = JSON.createArrayNode();
            for (int i = 0; i < 5; i++) {
                if (i % 2 == 0) {
                    layers.addObject().put("type", "linear").put("module", "encoder.layers." + i + ".fc");
                } else {
                    layers.addObject().put("type", "relu");
                }
            }
            return layers;
        }
    }

    /** The layer list the script runs: the Sequential's layers under their paths ({@code layers.<i>}). */
    private static ArrayNode describe(Sequential model) {
        ArrayNode layers = JSON.createArrayNode();
        for (int i = 0; i < model.size(); i++) {
            Module layer = model.get(i);
            ObjectNode entry = layers.addObject();
            if (layer instanceof Linear) {
                entry.put("type", "linear").put("module", "layers." + i);
            } else if (layer instanceof Conv2d conv) {
                ConvGeometry g = conv.geometry();
                assertTrue(g.dilationH() == 1 && g.dilationW() == 1 && g.groups() == 1, "the script's convolutions are plain");
                entry.put("type", "conv2d").put("module", "layers." + i);
                entry.putArray("stride").add(g.strideH()).add(g.strideW());
                entry.putArray("padding").add(g.padH()).add(g.padW());
            } else if (layer instanceof Flatten) {
                entry.put("type", "flatten");
            } else if (layer instanceof Activation && "ReLU".equals(layer.toString())) {
                entry.put("type", "relu");
            } else {
                fail("the reference script does not know " + layer);
            }
        }
        return layers;
    }

    private static INDArray features(Random random, long... shape) {
        return normal(random, 1.0, shape);
    }

    private static INDArray ids(Random random) {
        long[][] ids = new long[3][4];
        for (long[] row : ids) {
            for (int j = 0; j < row.length; j++) {
                row[j] = random.nextInt(10);
            }
        }
        return Nd4j.createFromArray(ids);
    }

    private static INDArray normal(Random random, double std, long... shape) {
        INDArray out = Nd4j.create(DataType.FLOAT, shape);
        for (long i = 0; i < out.length(); i++) {
            out.putScalar(i, random.nextGaussian() * std);
        }
        return out;
    }

    private static INDArray forward(Module model, INDArray input) {
        model.eval();
        Tensor out = model instanceof TokenNet net ? net.forward(input)
                : model instanceof Deep deep ? deep.forward(input)
                : ((Sequential) model).forward(Tensor.constant(input));
        return out.value().dup();
    }

    // ------------------------------------------------------------------ the check

    /**
     * Saves {@code model}'s base, wraps it with {@code config}, puts random values in the adapters
     * (and modules to save), saves the adapter, runs the reference on {@code input} and compares.
     */
    private <M extends Module> LoraModel<M> check(String name, M model, ArrayNode layers, INDArray input,
            LoraConfig config) throws Exception {
        return check(name, model, layers, input, config, AdapterSaveOptions.defaults());
    }

    /**
     * As above, the adapter saved with {@code save}; converted to a plain LoRA adapter (PiSSA, OLoRA),
     * its rank is twice the trained one's, alpha too, so the scaling is the same.
     */
    private <M extends Module> LoraModel<M> check(String name, M model, ArrayNode layers, INDArray input,
            LoraConfig config, AdapterSaveOptions save) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        INDArray baseOutput = forward(model, input);
        ModelCheckpoint.save(model, dir.resolve("base.safetensors"));

        LoraModel<M> lora = Lora.wrap(model, config);
        Random random = new Random(name.hashCode());
        for (LoraLayer layer : lora.layers().values()) {
            LoraAdapter adapter = layer.adapter("default");
            adapter.a().value().assign(normal(random, 0.4, adapter.a().value().shape()));
            adapter.b().value().assign(normal(random, 0.4, adapter.b().value().shape()));
            if (adapter.isDora()) {
                // m moved away from ‖W‖ (its initial value), by up to ±30 % per row
                INDArray m = adapter.magnitude().value();
                m.muli(normal(random, 0.15, m.shape()).addi(1));
            }
        }
        for (String path : lora.modulesToSave("default")) {
            Map<String, INDArray> values = new LinkedHashMap<>();
            lora.moduleToSaveValues("default", path).forEach((p, v) -> values.put(p, v.add(normal(random, 0.3, v.shape()))));
            lora.setModuleToSaveValues("default", path, values);
        }
        INDArray ours = forward(lora.model(), input);
        double adapterEffect = maxAbsDiff(ours, baseOutput);
        assertTrue(adapterEffect > 100 * TOLERANCE * scale(ours),
                name + ": the adapters must change the output (they moved it by " + adapterEffect + ")");

        AdapterFiles.save(lora, dir.resolve("adapter"), save);
        ObjectNode modelJson = JSON.createObjectNode();
        modelJson.set("layers", layers);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("model.json").toFile(), modelJson);
        SafetensorsWriter.write(dir.resolve("inputs.safetensors"), Map.of("x", input), Map.of("format", "pt"));

        INDArray reference = runReference(dir);
        assertEquals(Arrays.toString(ours.shape()), Arrays.toString(reference.shape()),
                name + ": logits shape");
        double diff = maxAbsDiff(ours, reference);
        double allowed = TOLERANCE * scale(reference);
        System.out.printf("PEFT reference, %s: max |lora4j - reference| = %.3g, max |logit| = %.3g, "
                + "relative %.3g (tolerance %.0e); the adapters moved the logits by %.3g%n",
                name, diff, reference.amaxNumber().doubleValue(), diff / scale(reference), TOLERANCE, adapterEffect);
        assertTrue(diff <= allowed, name + ": lora4j's logits differ from the PEFT reference's by " + diff
                + " (allowed " + allowed + ")\nlora4j:    " + ours + "\nreference: " + reference);

        // what the reference adapted, by PEFT's rules, is what lora4j adapted
        JsonNode report = JSON.readTree(dir.resolve("report.json").toFile());
        assertEquals(new TreeSet<>(lora.layers().keySet()), fieldNames(report.get("adapted")),
                name + ": the modules PEFT's rules adapt");
        lora.layers().forEach((path, layer) -> {
            LoraAdapter adapter = layer.adapter("default");
            JsonNode entry = report.get("adapted").get(path);
            assertEquals(adapter.spec().rank() * (save.convertToPlainLora() ? 2 : 1), entry.get("r").intValue(),
                    name + ": " + path + " rank");
            assertEquals(adapter.scaling(), entry.get("scaling").doubleValue(), 1e-12, name + ": " + path + " scaling");
            assertEquals(adapter.isDora(), entry.get("dora").booleanValue(), name + ": " + path + " DoRA");
        });
        TreeSet<String> saved = new TreeSet<>();
        report.get("modules_to_save").forEach(n -> saved.add(n.textValue()));
        assertEquals(new TreeSet<>(lora.modulesToSave("default")), saved, name + ": modules to save");
        return lora;
    }

    private static TreeSet<String> fieldNames(JsonNode node) {
        TreeSet<String> names = new TreeSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** Runs the script on {@code dir} (at most two minutes) and reads the logits it wrote. */
    private static INDArray runReference(Path dir) throws IOException, InterruptedException {
        Files.deleteIfExists(dir.resolve("logits.safetensors"));
        Path log = dir.resolve("reference.log");
        ProcessBuilder builder = new ProcessBuilder(TorchPeer.PYTHON.toString(), SCRIPT.toString(), dir.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("OMP_NUM_THREADS", "1");
        Process process = builder.start();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("the PEFT reference script did not finish in 120 s");
        }
        assertEquals(0, process.exitValue(), "the PEFT reference script failed: " + Files.readString(log).strip());
        return readLogits(dir);
    }

    private static INDArray readLogits(Path dir) throws IOException {
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve("logits.safetensors"))) {
            return file.read("logits").castTo(DataType.FLOAT).dup();
        }
    }

    private static double maxAbsDiff(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }

    private static double scale(INDArray logits) {
        return Math.max(1.0, logits.amaxNumber().doubleValue());
    }
}
