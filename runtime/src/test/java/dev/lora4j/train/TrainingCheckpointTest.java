package dev.lora4j.train;

import dev.lora4j.Lora;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.LoraInit;
import dev.lora4j.api.TrainingListener;
import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.CheckpointableRandom;
import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.testing.Bitwise;
import dev.lora4j.train.DataParallelTrainingTest.Batch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * An interrupted fine-tune resumed from its checkpoint ends bit for bit where the uninterrupted run
 * ends: shuffled batches, dropout in the model and in the LoRA adapters, a warmup/decay schedule,
 * gradient clipping, AdamW (or SGD with momentum), periodic validation with best-weight restoring.
 * The surefire configuration runs ND4J on one thread (OMP_NUM_THREADS=1), which makes the math
 * deterministic.
 */
class TrainingCheckpointTest {

    /** A small MLP with a dropout layer; LoRA with dropout goes on both linears. */
    static class Net extends Module {
        final Linear fc1 = new Linear(6, 12, true, Init.random());
        final Dropout drop = new Dropout(0.2);
        final Linear fc2 = new Linear(12, 3, true, Init.random());

        Tensor forward(Tensor x) {
            return fc2.forward(drop.forward(fc1.forward(x).relu()));
        }
    }

    /** Regression batches of five examples (the data-parallel tests' generator). */
    private static List<Batch> batches(int count, long seed) {
        return DataParallelTrainingTest.batches(count, 5, seed);
    }

    private static LoraModel<Net> model() {
        Init.seed(123);
        return Lora.wrap(new Net(), LoraConfig.builder().rank(4).alpha(8).dropout(0.1)
                .targetModules("fc1", "fc2").init(LoraInit.RANDOM).seed(77).build());
    }

    private static TrainingTask<Batch> task(Net net) {
        return TrainingTask.of(b -> Functional.mse(net.forward(Tensor.constant(b.x())), Tensor.constant(b.y())), b -> 5);
    }

    private static TrainingConfig.Builder config() {
        return TrainingConfig.builder().epochs(3).learningRate(5e-2).warmupSteps(4).maxGradNorm(0.5)
                .evalEverySteps(4).evalEveryEpoch(false).restoreBestWeights(true).seed(9);
    }

    private static Trainer trainer(TrainingConfig config, String optimizer, TrainingListener... listeners) {
        OptimizerFactory factory = optimizer.equals("adamw") ? OptimizerFactory.adamW(0.01)
                : OptimizerFactory.sgd(0.9, true, 0.01);
        return new Trainer(config, factory, ScheduleFactory.LINEAR, Set.of(listeners));
    }

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"adamw", "sgd"})
    void aResumedRunEndsBitwiseWhereTheUninterruptedOneEnds(String optimizer) throws IOException {
        List<Batch> training = batches(7, 1);
        List<Batch> validation = batches(2, 2);

        LoraModel<Net> reference = model();
        TrainingResult uninterrupted = trainer(config().build(), optimizer)
                .fit(reference.model(), training, validation, task(reference.model()));
        assertEquals(21, uninterrupted.steps());

        int[] interruptions = {5, 7, 14, 20};
        Path ckpt = dir.resolve(optimizer);
        TrainingResult resumed = null;
        long checkpointedStep = 0;
        for (int stopAt : interruptions) {
            // a run that dies at step stopAt (after checkpointing every 3 steps), resumed from the last checkpoint
            LoraModel<Net> lora = model();
            TrainingConfig withCheckpoints = config().checkpointEvery(3, ckpt).build();
            TrainingListener crash = step -> {
                if (step.step() == stopAt) {
                    throw new IllegalStateException("simulated crash at step " + stopAt);
                }
            };
            Trainer dying = trainer(withCheckpoints, optimizer, crash);
            if (Files.exists(ckpt.resolve(TrainingCheckpoint.STATE_FILE))) {
                assertThrows(IllegalStateException.class,
                        () -> dying.resume(ckpt, lora.model(), training, validation, task(lora.model())));
            } else {
                assertThrows(IllegalStateException.class,
                        () -> dying.fit(lora.model(), training, validation, task(lora.model())));
            }
            checkpointedStep = TrainingCheckpoint.read(ckpt).globalStep();
            assertEquals((stopAt - 1) / 3 * 3, checkpointedStep, "the last checkpoint before the crash");
        }
        LoraModel<Net> lora = model();
        resumed = trainer(config().checkpointEvery(3, ckpt).build(), optimizer)
                .resume(ckpt, lora.model(), training, validation, task(lora.model()));

        assertEquals(uninterrupted.steps(), resumed.steps());
        assertEquals(uninterrupted.losses(), resumed.losses(), "every step's loss, bit for bit");
        assertEquals(uninterrupted.bestStep(), resumed.bestStep());
        assertEquals(uninterrupted.evaluations(), resumed.evaluations());
        Map<String, String> differ = Bitwise.differences(Bitwise.snapshot(reference.model()), lora.model());
        assertTrue(differ.isEmpty(), "final weights equal bitwise; differing: " + differ);
        try (var files = Files.list(ckpt)) {
            assertEquals(2, files.count(), "trainer_state.json and one state file; older ones deleted");
        }
        System.out.println("[checkpoint] " + optimizer + ": " + interruptions.length + " crashes at steps "
                + java.util.Arrays.toString(interruptions) + ", resumed to step " + resumed.steps()
                + "; final weights equal the uninterrupted run's bitwise");
    }

    @Test
    void aCheckpointFromAnotherRunIsRefusedNamingTheField() throws IOException {
        List<Batch> training = batches(7, 1);
        LoraModel<Net> lora = model();
        Path ckpt = dir.resolve("other");
        trainer(config().epochs(1).maxSteps(3).checkpointEvery(3, ckpt).build(), "adamw")
                .fit(lora.model(), training, task(lora.model()));
        LoraModel<Net> again = model();
        CheckpointException e = assertThrows(CheckpointException.class, () -> trainer(
                config().epochs(1).maxSteps(3).checkpointEvery(3, ckpt).build(), "adamw")
                .resume(ckpt, again.model(), batches(6, 1), List.of(), task(again.model())));
        assertEquals("checkpoint " + ckpt + ": training_batches is 7 in the checkpoint but 6 now", e.getMessage());
        CheckpointException none = assertThrows(CheckpointException.class, () -> TrainingCheckpoint.read(dir.resolve("x")));
        assertTrue(none.getMessage().contains("no training checkpoint"), none.getMessage());
    }

    @Test
    void aGeneratorThatCannotBeSavedIsReportedBeforeTraining() {
        Init.seed(1);
        Net net = new Net() {
            final Dropout plain = new Dropout(0.1, new Random(3));
        };
        net.fc1.weight().setTrainable(true);
        TrainingConfig config = config().checkpointEvery(2, dir.resolve("never")).build();
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> trainer(config, "adamw").fit(net, batches(2, 1), task(net)));
        assertTrue(e.getMessage().contains("plain.random draws from a java.util.Random"), e.getMessage());
    }

    @Test
    void checkpointableRandomRepeatsJavaUtilRandomAndRestores() {
        Random plain = new Random(2024);
        CheckpointableRandom ours = new CheckpointableRandom(2024);
        Supplier<String> draws = () -> "";
        for (int i = 0; i < 2000; i++) {
            switch (i % 8) {
                case 0 -> assertEquals(plain.nextInt(), ours.nextInt());
                case 1 -> assertEquals(plain.nextInt(97), ours.nextInt(97));
                case 2 -> assertEquals(plain.nextDouble(), ours.nextDouble());
                case 3 -> assertEquals(plain.nextGaussian(), ours.nextGaussian());
                case 4 -> assertEquals(plain.nextLong(), ours.nextLong());
                case 5 -> assertEquals(plain.nextFloat(), ours.nextFloat());
                case 6 -> assertEquals(plain.nextBoolean(), ours.nextBoolean());
                default -> {
                    byte[] a = new byte[7];
                    byte[] b = new byte[7];
                    plain.nextBytes(a);
                    ours.nextBytes(b);
                    assertEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(b));
                }
            }
        }
        ours.nextGaussian(); // leaves a pending second Gaussian
        CheckpointableRandom.State saved = ours.state();
        double[] expected = {ours.nextGaussian(), ours.nextDouble(), ours.nextGaussian()};
        CheckpointableRandom other = new CheckpointableRandom(1);
        other.restore(saved);
        assertEquals(expected[0], other.nextGaussian());
        assertEquals(expected[1], other.nextDouble());
        assertEquals(expected[2], other.nextGaussian());
        assertEquals(draws.get(), "");
        Map<String, Random> generators = model().model().namedGenerators();
        assertEquals(List.of("fc1.lora_dropout.default", "drop.random"), new ArrayList<>(generators.keySet()),
                "one entry per generator: fc2's adapter shares fc1's");
        assertEquals(DataType.FLOAT, Nd4j.defaultFloatingPointType());
    }
}
