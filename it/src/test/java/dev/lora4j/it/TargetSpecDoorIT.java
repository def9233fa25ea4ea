package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.agent.AgentInstallation;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.agent.TargetSpec;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.dsl.LoraDsl;
import dev.lora4j.it.thirdparty.EarlyModel;
import dev.lora4j.it.thirdparty.Encoder;
import dev.lora4j.it.thirdparty.EncoderPair;
import dev.lora4j.it.thirdparty.LateModel;
import dev.lora4j.it.thirdparty.Mismatch;
import dev.lora4j.it.thirdparty.WideEncoder;
import dev.lora4j.lora.LoraAdapter;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.samples.names.CharTransformer;
import dev.lora4j.train.ScheduleFactory;
import dev.lora4j.train.TrainingResult;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Target specs as the agent's argument: this JVM starts with
 * {@code -javaagent:<runtime jar>=config=agent-specs/char-transformer.json,config=agent-specs/third-party.json}
 * (a failsafe execution of its own), and models whose classes carry no lora4j annotation at all
 * (the samples' {@link CharTransformer}, compiled in another module, and the {@code thirdparty}
 * fixtures) come out of their constructors adapted.
 */
class TargetSpecDoorIT {

    static final int VOCABULARY = 19;
    static final int LENGTH = 8;
    static final int DIM = 16;

    /** Rank and alpha per adapted path, as char-transformer.json says. */
    static final Map<String, double[]> EXPECTED = new LinkedHashMap<>();

    static {
        EXPECTED.put("blocks.0.attention.query", new double[] {4, 8});
        EXPECTED.put("blocks.0.attention.value", new double[] {4, 8});
        EXPECTED.put("blocks.0.up", new double[] {8, 16}); // rank_pattern and alpha_pattern "up"
        EXPECTED.put("blocks.1.attention.query", new double[] {4, 8});
        EXPECTED.put("blocks.1.attention.value", new double[] {2, 8}); // rank_pattern regex; blocks.1.up is excluded
    }

    @BeforeEach
    void seed() {
        Init.seed(77);
    }

    static CharTransformer newModel() {
        return new CharTransformer(VOCABULARY, LENGTH, DIM, 2, 2);
    }

    static Map<String, LoraAdapter> adapters(Module model) {
        Map<String, LoraAdapter> adapters = new LinkedHashMap<>();
        model.namedModules().forEach((path, module) -> {
            if (module instanceof Linear linear && LoraLayers.of(linear) != null) {
                adapters.put(path, LoraLayers.of(linear).adapter(LoraModel.DEFAULT_ADAPTER));
            }
        });
        return adapters;
    }

    @Test
    void theAgentStartedWithBothSpecFiles() {
        String jar = System.getProperty("lora4j.agent.jar");
        assertNotNull(jar);
        assertTrue(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .anyMatch(a -> a.startsWith("-javaagent:" + jar + "=config=") && a.contains("char-transformer.json")));
        AgentInstallation installation = LoraAgent.installation().orElseThrow();
        assertEquals(AgentInstallation.Mode.PREMAIN, installation.mode());
        List<TargetSpec> specs = installation.targetSpecs();
        assertTrue(specs.get(0).source().endsWith("char-transformer.json"), specs.toString());
        assertTrue(specs.get(1).source().endsWith("third-party.json"), specs.toString());
        assertEquals(List.of(CharTransformer.class.getName()), specs.get(0).modelClasses());
    }

    @Test
    void adaptersSitExactlyOnTheTargetedPathsWithTheOverriddenRanks() {
        CharTransformer model = newModel();
        Map<String, LoraAdapter> adapters = adapters(model);
        assertEquals(List.copyOf(EXPECTED.keySet()), List.copyOf(adapters.keySet()), "right after the constructor");
        EXPECTED.forEach((path, rankAlpha) -> {
            assertEquals((int) rankAlpha[0], adapters.get(path).spec().rank(), path);
            assertEquals(rankAlpha[1] / rankAlpha[0], adapters.get(path).scaling(), 1e-12, path);
        });
        assertTrue(LoraAgent.installation().orElseThrow().transformedClasses().contains(CharTransformer.class.getName()));
        assertFalse(LoraAgent.installation().orElseThrow().transformedClasses().contains(CharTransformer.Block.class.getName()),
                "only the named class is instrumented");
    }

    @Test
    void trainableParametersAreTheAdapterFactorsAndCountRankTimesInPlusOut() {
        CharTransformer model = newModel();
        Map<String, Module> modules = model.namedModules();
        long expected = 0;
        for (Map.Entry<String, double[]> entry : EXPECTED.entrySet()) {
            Linear linear = (Linear) modules.get(entry.getKey());
            expected += (long) entry.getValue()[0] * (linear.inFeatures() + linear.outFeatures());
        }
        assertEquals(4 * (16 + 16) * 3 + 8 * (16 + 64) + 2 * (16 + 16), expected);
        assertEquals(expected, model.trainableParameterCount(), "Σ r·(in+out)");
        model.namedParameters().forEach((name, p) ->
                assertEquals(name.contains(".lora_"), p.isTrainable(), name + ": only adapter factors train"));

        LoraModel<CharTransformer> lora = Lora.adopt(model);
        assertEquals(expected, lora.summary().trainable());
        LoraConfig config = lora.config(LoraModel.DEFAULT_ADAPTER);
        assertEquals(List.of("query", "value", "up"), config.targetModules(), "the spec's config, as written");
        assertEquals(List.of("blocks.1.up"), config.excludeModules());
        assertEquals(Map.of("blocks\\.1\\.attention\\.value", 2, "up", 8), config.rankPattern());
    }

    @Test
    void aFewTrainingStepsLowerTheLossAndLeaveTheBaseBitwiseUnchanged() {
        CharTransformer model = newModel();
        Map<String, float[]> frozen = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> {
            if (!p.isTrainable()) {
                frozen.put(name, values(p));
            }
        });
        Batch batch = Batch.fixed();
        CrossEntropyLoss crossEntropy = new CrossEntropyLoss();
        double before = crossEntropy.compute(model.forward(batch.ids), batch.targets).item();
        TrainingResult result = LoraDsl.train(model, List.of(batch), spec -> {
            spec.setEpochs(8);
            spec.setLearningRate(1e-2);
            spec.setSchedule(ScheduleFactory.CONSTANT);
            spec.setProgress(false);
            spec.loss(b -> crossEntropy.compute(model.forward(b.ids), b.targets));
        });
        double after = crossEntropy.compute(model.forward(batch.ids), batch.targets).item();
        assertEquals(8, result.steps());
        assertTrue(after < before - 0.05, "loss falls: " + before + " -> " + after + ", steps " + result.losses());
        frozen.forEach((name, values) -> assertArrayEquals(values, values(model.namedParameters().get(name)), name));
    }

    @Test
    void mergedAndUnmergedOutputsAgree() {
        CharTransformer model = newModel();
        LoraModel<CharTransformer> lora = Lora.adopt(model);
        Random random = new Random(3);
        for (LoraAdapter adapter : adapters(model).values()) {
            adapter.b().value().assign(Init.normal(random, 0.2, adapter.b().shape()));
        }
        model.eval();
        INDArray ids = Batch.fixed().ids;
        INDArray unmerged = model.forward(ids).value().dup();
        lora.merge();
        double difference = Nd4j.math().abs(model.forward(ids).value().sub(unmerged)).maxNumber().doubleValue();
        assertTrue(difference < 1e-5, "max |merged - unmerged| = " + difference);
    }

    @Test
    void twoInstancesHaveIndependentAdapters() {
        LoraAdapter first = adapters(newModel()).get("blocks.0.up");
        LoraAdapter second = adapters(newModel()).get("blocks.0.up");
        assertNotSame(first.a(), second.a());
        assertFalse(java.util.Arrays.equals(values(first.a()), values(second.a())));
    }

    // ---- the third-party fixtures: constructors, subclasses, parts, mismatches

    @Test
    void aDelegatingConstructorAdaptsOnce() {
        Encoder encoder = new Encoder();
        assertEquals(List.of("query", "value"), List.copyOf(adapters(encoder).keySet()));
        assertEquals(1, LoraLayers.of(encoder.query).adapters().size());
        assertEquals(4.0, LoraLayers.of(encoder.query).adapter("default").scaling(), 1e-12, "PEFT's default lora_alpha 8 over r 2");
        assertEquals(2 * 2 * (6 + 6), encoder.trainableParameterCount());
    }

    @Test
    void aNamedSubclassIsAdaptedOnceWithItsOwnLayers() {
        WideEncoder wide = new WideEncoder();
        assertEquals(List.of("query", "value", "value2"), List.copyOf(adapters(wide).keySet()));
        assertEquals(1, LoraLayers.of(wide.value2).adapter("default").spec().rank());
        assertEquals(2 * 2 * (6 + 6) + (6 + 2), wide.trainableParameterCount());
    }

    @Test
    void namedModelsBuiltAsPartsAreAdaptedThroughTheEnclosingModel() {
        EncoderPair pair = new EncoderPair();
        assertEquals(List.of("first.query", "first.value", "second.query", "second.value"),
                List.copyOf(adapters(pair).keySet()));
        assertEquals(4 * 2 * (6 + 6), pair.trainableParameterCount());
    }

    @Test
    void aSpecThatMatchesNothingFailsTheConstructorListingTheModulePaths() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, Mismatch::new);
        String message = error.getMessage();
        assertTrue(message.startsWith("lora4j agent, "), message);
        assertTrue(message.contains("third-party.json, new " + Mismatch.class.getName() + ": no module matches target_modules regex"),
                message);
        assertTrue(message.endsWith("the model's modules are [fc (Linear), norm (LayerNorm)]"), message);
    }

    @Test
    void aSpecAddedInCodeAppliesToClassesLoadedLaterAndIsRefusedForLoadedOnes() {
        LoraConfig config = LoraDsl.loraConfig(spec -> {
            spec.setRank(3);
            spec.targets("proj");
        });
        AgentInstallation installation = LoraAgent.install(config, "dev.lora4j.it.thirdparty.LateModel");
        assertEquals(3, installation.targetSpecs().size());
        assertEquals(3, LoraLayers.of(new LateModel().proj).adapter("default").spec().rank());

        assertNull(LoraLayers.of(new EarlyModel().proj), "loaded, not named");
        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> LoraAgent.install(config, EarlyModel.class.getName()));
        assertTrue(refused.getMessage().contains("already loaded, and an agent started with -javaagent does not retransform"),
                refused.getMessage());
        assertEquals(3, LoraAgent.installation().orElseThrow().targetSpecs().size(), "nothing added");
    }

    @Test
    void aBadSpecFileStopsTheJvmAtStartWithOneLineNamingFileAndField() throws IOException, InterruptedException {
        Path spec = Path.of(System.getProperty("lora4j.agent.specs"), "bad-rank.json");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        String all = System.getProperty("lora4j.all.jar");
        Process process = new ProcessBuilder(java.toString(), "-javaagent:" + all + "=config=" + spec, "-cp", all,
                "dev.lora4j.NoSuchMain").start();
        String out;
        String err;
        try (var stdout = process.getInputStream(); var stderr = process.getErrorStream()) {
            out = new String(stdout.readAllBytes(), StandardCharsets.UTF_8);
            err = new String(stderr.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(process.waitFor(1, TimeUnit.MINUTES));
        assertEquals(1, process.exitValue(), err);
        assertEquals("", out);
        assertEquals("lora4j agent: " + spec + ": field 'r' must be an integer >= 1, got 0", err.strip());
    }

    // ---- helpers

    static final class Batch {
        final INDArray ids;
        final int[] targets;

        private Batch(INDArray ids, int[] targets) {
            this.ids = ids;
            this.targets = targets;
        }

        /** Two sequences of a fixed pattern; each position predicts the next token. */
        static Batch fixed() {
            int[][] inputs = new int[2][LENGTH];
            List<Integer> targets = new ArrayList<>();
            for (int b = 0; b < 2; b++) {
                for (int t = 0; t < LENGTH; t++) {
                    inputs[b][t] = (5 * t + 3 * b + 2) % VOCABULARY;
                    targets.add((5 * (t + 1) + 3 * b + 2) % VOCABULARY);
                }
            }
            return new Batch(Nd4j.createFromArray(inputs), targets.stream().mapToInt(Integer::intValue).toArray());
        }
    }

    static float[] values(Parameter p) {
        return p.value().dup().ravel().toFloatVector();
    }
}
