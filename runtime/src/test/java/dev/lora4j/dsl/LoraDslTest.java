package dev.lora4j.dsl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.BiasMode;
import dev.lora4j.api.ImplicitReceiver;
import dev.lora4j.api.LoRA;
import dev.lora4j.api.LoraInit;
import dev.lora4j.api.Configure;
import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.testing.LayeredModel;
import dev.lora4j.train.MetricGoal;
import dev.lora4j.train.NonFinitePolicy;
import dev.lora4j.train.ScheduleFactory;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The DSL from Java: the blocks take the spec as a parameter. */
class LoraDslTest {

    /** A small regression network; {@code fc1} is annotated, {@code fc2} and {@code out} are not. */
    static final class Mlp extends Module {
        @LoRA(rank = 2, alpha = 4)
        final Linear fc1 = new Linear(3, 8);
        final Linear fc2 = new Linear(8, 8);
        final Linear out = new Linear(8, 1);

        Tensor forward(INDArray x) {
            return out.forward(fc2.forward(fc1.forward(Tensor.constant(x)).tanh()).tanh());
        }
    }

    record Batch(INDArray x, INDArray y) {}

    @BeforeEach
    void seed() {
        Init.seed(5);
    }

    private static List<Batch> batches() {
        List<Batch> batches = new ArrayList<>();
        java.util.Random random = new java.util.Random(1);
        for (int b = 0; b < 4; b++) {
            float[][] x = new float[8][3];
            float[][] y = new float[8][1];
            for (int i = 0; i < 8; i++) {
                for (int j = 0; j < 3; j++) {
                    x[i][j] = (float) random.nextGaussian();
                }
                y[i][0] = (float) Math.sin(x[i][0] + 0.5 * x[i][1] * x[i][2]);
            }
            batches.add(new Batch(Nd4j.createFromArray(x), Nd4j.createFromArray(y)));
        }
        return batches;
    }

    @Test
    void theConfigurationInterfaceCarriesTheReceiverAnnotationForKotlin() {
        assertTrue(Configure.class.isAnnotationPresent(ImplicitReceiver.class));
        assertTrue(Configure.class.isAnnotationPresent(FunctionalInterface.class));
    }

    @Test
    void aLoraBlockBuildsTheSameConfigAsTheBuilder() {
        LoraConfig fromBlock = LoraDsl.loraConfig(spec -> {
            spec.setRank(4);
            spec.setAlpha(8.0);
            spec.setDropout(0.1);
            spec.setRslora(true);
            spec.setDora(true);
            spec.setInit(LoraInit.GAUSSIAN);
            spec.setBias(BiasMode.LORA_ONLY);
            spec.setFanInFanOut(false);
            spec.setSeed(7L);
            spec.targets("query");
            spec.targets("value");
            spec.exclude("blocks.0.attention.value");
            spec.rankPattern("value", 2);
            spec.alphaPattern("value", 3.0);
            spec.modulesToSave("head");
        });
        LoraConfig fromBuilder = LoraConfig.builder().rank(4).alpha(8).dropout(0.1).rslora(true).dora(true).init(LoraInit.GAUSSIAN)
                .bias(BiasMode.LORA_ONLY).seed(7).targetModules("query", "value").excludeModules("blocks.0.attention.value")
                .rankPattern("value", 2).alphaPattern("value", 3.0).modulesToSave("head").build();
        assertEquals(fromBuilder.toString(), fromBlock.toString());
        assertEquals(fromBuilder.seed(), fromBlock.seed());
        assertTrue(fromBlock.dora());
    }

    @Test
    void aLoraBlockTakesPissaWithItsIterations() {
        LoraConfig config = LoraDsl.loraConfig(spec -> {
            spec.setPissaNiter(16);
            spec.targets("query");
        });
        assertEquals(LoraInit.PISSA, config.init());
        assertEquals(16, config.pissaNiter());
        assertEquals(LoraConfig.builder().pissaNiter(16).targetModules("query").build().toString(), config.toString());
        LoraConfig olora = LoraDsl.loraConfig(spec -> {
            spec.setInit(LoraInit.OLORA);
            spec.targets("query");
        });
        assertEquals(-1, olora.pissaNiter());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoraDsl.loraConfig(spec -> {
            spec.setInit(LoraInit.OLORA);
            spec.setPissaNiter(-3);
            spec.targets("query");
        }));
        assertTrue(e.getMessage().contains("pissaNiter must be -1 (PiSSA with the exact SVD) or a number of subspace"
                + " iterations of at least 0, got -3"), e.getMessage());
    }

    @Test
    void aLoraBlockDefaultsAlphaToTheRankAndTakesARegex() {
        LoraConfig config = LoraDsl.loraConfig(spec -> {
            spec.setRank(16);
            spec.setTargetRegex("fc[12]");
        });
        assertEquals(16.0, config.alpha());
        assertEquals("fc[12]", config.targetRegex());
        LoraSpec spec = new LoraSpec();
        assertNull(spec.getAlpha());
        assertNull(spec.getSeed());
        assertEquals(List.of(), spec.getTargets());
    }

    @Test
    void aLoraBlockReadsBackWhatItsConfigHolds() {
        LoraSpec spec = new LoraSpec();
        assertEquals(LoraConfig.builder().targetModules("q").build().rank(), spec.getRank(), "defaults are LoraConfig's");
        spec.targets("q");
        spec.targets("v");
        assertEquals(List.of("q", "v"), spec.getTargets(), "targets add up");
        spec.setAlpha(4.0);
        assertEquals(4.0, spec.getAlpha());
        spec.setAlpha(null);
        assertNull(spec.getAlpha(), "unset again: alpha = rank");
        assertEquals(spec.getRank(), spec.toConfig().alpha());
        spec.setSeed(3L);
        assertEquals(3L, spec.toConfig().seed());
        spec.setSeed(null);
        assertNull(spec.toConfig().seed(), "the seed forgotten");
        spec.exclude("x");
        spec.exclude("y");
        spec.modulesToSave("head");
        assertEquals(List.of("x", "y"), spec.toConfig().excludeModules());
        assertEquals(List.of("head"), spec.getModulesToSave());

        LoraSpec regex = new LoraSpec();
        regex.setTargetRegex("a|b");
        assertEquals("a|b", regex.getTargetRegex());
        regex.setTargetRegex(null);
        assertNull(regex.getTargetRegex());
        regex.targets("c");
        assertEquals(List.of("c"), regex.toConfig().targetModules());
        IllegalArgumentException both = assertThrows(IllegalArgumentException.class, () -> regex.setTargetRegex("d"));
        assertTrue(both.getMessage().startsWith("give targets(...) or targetRegex, not both"), both.getMessage());
    }

    /** PEFT's layer selection in a block: the same config as the builder's, and one kind of targets and of exclusions. */
    @Test
    void aLoraBlockSelectsLayersAsTheBuilderDoes() {
        LoraConfig fromBlock = LoraDsl.loraConfig(spec -> {
            spec.targets("query", "value");
            spec.layersToTransform(0);
            spec.layersToTransform(2);
            spec.layersPattern("layers");
            spec.setExcludeRegex(".*\\.2\\.value");
            spec.rankPattern("value", 2);
        });
        LoraConfig fromBuilder = LoraConfig.builder().targetModules("query", "value").layersToTransform(0, 2)
                .layersPattern("layers").excludeRegex(".*\\.2\\.value").rankPattern("value", 2).build();
        assertEquals(fromBuilder.toString(), fromBlock.toString());
        assertEquals(List.of(0, 2), fromBlock.layersToTransform());
        assertEquals(List.of("layers"), fromBlock.layersPattern());
        assertEquals(".*\\.2\\.value", fromBlock.excludeRegex());

        LayeredModel model = new LayeredModel(3, "lm_head");
        LoraModel<LayeredModel> lora = LoraDsl.lora(model, spec -> {
            spec.allLinear();
            spec.exclude("dense", "pooler");
        });
        assertEquals(LayeredModel.blockPaths(new int[] {0, 1, 2}, "query", "value"), List.copyOf(lora.layers().keySet()));
        assertTrue(lora.config(LoraModel.DEFAULT_ADAPTER).targetsAllLinear());

        LoraSpec spec = new LoraSpec();
        spec.allLinear();
        assertTrue(spec.isAllLinear());
        assertEquals("give allLinear() or targets(...), not both; all-linear is set",
                assertThrows(IllegalArgumentException.class, () -> spec.targets("q")).getMessage());
        assertEquals("give allLinear() or targetRegex, not both; all-linear is set",
                assertThrows(IllegalArgumentException.class, () -> spec.setTargetRegex("q")).getMessage());
        LoraSpec named = new LoraSpec();
        named.targets("q");
        assertEquals("give allLinear() or targets(...), not both; targets are [q]",
                assertThrows(IllegalArgumentException.class, named::allLinear).getMessage());
        named.exclude("x");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> named.setExcludeRegex("y")).getMessage()
                .startsWith("give exclude(...) or excludeRegex, not both"));
        named.layersPattern("blocks");
        assertTrue(assertThrows(IllegalArgumentException.class, named::toConfig).getMessage()
                .startsWith("layers_pattern [blocks] is set without layers_to_transform"));
    }

    @Test
    void aLoraBlockIsCheckedWhenItEnds() {
        assertEquals("target_modules is empty: name the layers to adapt, e.g. targetModules(\"q\", \"v\")",
                assertThrows(IllegalArgumentException.class, () -> LoraDsl.loraConfig(spec -> spec.setRank(4))).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LoraDsl.loraConfig(spec -> {
            spec.targets("q");
            spec.setTargetRegex("q");
        })).getMessage().startsWith("give targets(...) or targetRegex, not both"));
        assertThrows(IllegalArgumentException.class, () -> LoraDsl.loraConfig(spec -> {
            spec.setRank(0);
            spec.targets("q");
        }));
    }

    @Test
    void loraWithABlockWrapsAndLoraWithoutOneReadsTheAnnotations() {
        LoraModel<Mlp> targeted = LoraDsl.lora(new Mlp(), spec -> {
            spec.setRank(4);
            spec.targets("fc2", "out");
        });
        assertEquals(List.of("fc2", "out"), List.copyOf(targeted.layers().keySet()));
        assertEquals(4L * (8 + 8) + 4L * (8 + 1), targeted.model().trainableParameterCount());

        LoraModel<Mlp> annotated = LoraDsl.lora(new Mlp());
        assertEquals(List.of("fc1"), List.copyOf(annotated.layers().keySet()));
        assertEquals(2L * (3 + 8), annotated.model().trainableParameterCount());
    }

    @Test
    void aTrainingBlockMapsOntoTrainingConfig() {
        TrainingSpec<Batch> spec = new TrainingSpec<>();
        TrainingConfig defaults = spec.toConfig();
        assertEquals(TrainingConfig.defaults().toString(), defaults.toString(), "defaults are TrainingConfig's");
        assertEquals(TrainingConfig.defaults().learningRate(), spec.getLearningRate());
        assertEquals(TrainingConfig.defaults().workers(), spec.getWorkers());
        assertNull(spec.getMaxSteps());
        assertEquals(0, spec.getCheckpointEverySteps());
        assertNull(spec.getCheckpointDirectory());
        spec.setEpochs(3);
        spec.setMaxSteps(10L);
        spec.setLearningRate(1e-2);
        spec.setWarmupSteps(2);
        spec.setMaxGradNorm(0);
        spec.setEvalEverySteps(5);
        spec.setEvalEveryEpoch(false);
        spec.setRestoreBestWeights(false);
        spec.setShuffle(false);
        spec.setSeed(9);
        spec.setNonFinitePolicy(NonFinitePolicy.SKIP_STEP);
        spec.earlyStopping(2, 0.01);
        spec.monitor("val_accuracy", MetricGoal.MAXIMIZE);
        spec.setWorkers(2);
        java.nio.file.Path checkpoints = java.nio.file.Path.of("target", "dsl-checkpoints");
        spec.checkpointEvery(4, checkpoints);
        TrainingConfig config = spec.toConfig();
        assertEquals(TrainingConfig.builder().epochs(3).maxSteps(10).learningRate(1e-2).warmupSteps(2).maxGradNorm(0)
                .evalEverySteps(5).evalEveryEpoch(false).restoreBestWeights(false).shuffle(false).seed(9)
                .nonFinitePolicy(NonFinitePolicy.SKIP_STEP).earlyStopping(2, 0.01)
                .monitor("val_accuracy", MetricGoal.MAXIMIZE).checkpointEvery(4, checkpoints).workers(2).build().toString(),
                config.toString());
        // the block's properties read back what the config holds: the spec is a view of its builder
        assertEquals(3, spec.getEpochs());
        assertEquals(10L, spec.getMaxSteps());
        assertEquals(1e-2, spec.getLearningRate());
        assertEquals(4, spec.getCheckpointEverySteps());
        assertEquals(checkpoints, spec.getCheckpointDirectory());
        assertEquals(config.checkpointEverySteps(), spec.getCheckpointEverySteps());
        spec.setMaxSteps(null);
        assertNull(spec.getMaxSteps(), "no step limit reads back as null");
        assertEquals(Long.MAX_VALUE, spec.toConfig().maxSteps());
        spec.setMaxSteps(10L);
        spec.loss(batch -> Tensor.constant(batch.y()));
        assertNull(spec.toTask().slicer(), "no slicer unless given");
        spec.slicer((batch, from, to) -> batch);
        assertNotNull(spec.toTask().slicer(), "the block's slicer reaches the task");
        spec.setEpochs(0);
        assertEquals("TrainingConfig.epochs must be >= 1, got 0",
                assertThrows(IllegalArgumentException.class, spec::toConfig).getMessage());
    }

    @Test
    void aTrainingBlockWithoutALossSaysSo() {
        Mlp model = new Mlp();
        LoraDsl.lora(model);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> LoraDsl.train(model, batches(), spec -> spec.setEpochs(2)));
        assertTrue(e.getMessage().startsWith("no loss: set one in the training block"), e.getMessage());
    }

    @Test
    void trainingThroughTheDslLowersTheLossOfTheAdapters() {
        LoraModel<Mlp> lora = LoraDsl.lora(new Mlp(), spec -> {
            spec.setRank(4);
            spec.setAlpha(8.0);
            spec.targets("fc1", "fc2");
        });
        Mlp model = lora.model();
        Map<String, INDArray> frozen = new java.util.LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> {
            if (!p.isTrainable()) {
                frozen.put(name, p.value().dup());
            }
        });
        List<Batch> batches = batches();
        List<Double> steps = new ArrayList<>();
        TrainingResult result = LoraDsl.train(model, batches, spec -> {
            spec.setEpochs(25);
            spec.setLearningRate(2e-2);
            spec.setSchedule(ScheduleFactory.CONSTANT);
            spec.setProgress(false);
            spec.setValidation(batches.subList(0, 1));
            spec.loss(batch -> Functional.mse(model.forward(batch.x()), Tensor.constant(batch.y())));
            spec.batchSize(batch -> (int) batch.x().size(0));
            spec.listener(step -> steps.add(step.loss()));
        });
        assertEquals(100, result.steps());
        assertEquals(result.losses(), steps, "the block's listener saw every step");
        double first = result.losses().subList(0, 8).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double last = result.losses().subList(92, 100).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        assertTrue(last < 0.7 * first, "loss falls: " + first + " -> " + last);
        assertFalse(result.evaluations().isEmpty());
        frozen.forEach((name, before) -> assertEquals(before, model.namedParameters().get(name).value(), name + " frozen"));
    }
}
