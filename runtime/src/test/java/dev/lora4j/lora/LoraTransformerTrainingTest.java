package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.inject.AbstractModule;
import dev.lora4j.Lora;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.guice.Lora4j;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.TinyTransformer;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingResult;
import dev.lora4j.train.TrainingTask;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The core claims on a small transformer: LoRA on the attention query and value projections
 * learns a task in 200 AdamW steps, trains only the adapters (and modules_to_save), and merges
 * to the same outputs.
 */
class LoraTransformerTrainingTest {

    private static final int VOCAB = 12;
    private static final int TIME = 10;

    /** Next-token prediction on counting sequences {@code s, s+k, s+2k, …} (mod 12) with a per-sequence step k ∈ {1, 2, 3}. */
    record Batch(INDArray ids, int[] targets) {}

    private static List<Batch> batches(int count, int size, long seed) {
        Random random = new Random(seed);
        List<Batch> out = new ArrayList<>();
        for (int b = 0; b < count; b++) {
            int[][] ids = new int[size][TIME];
            int[] targets = new int[size * TIME];
            for (int i = 0; i < size; i++) {
                int start = random.nextInt(VOCAB);
                int step = 1 + random.nextInt(3);
                for (int t = 0; t < TIME; t++) {
                    ids[i][t] = (start + t * step) % VOCAB;
                    // the first position cannot know the step: ignore it
                    targets[i * TIME + t] = t == 0 ? CrossEntropyLoss.DEFAULT_IGNORE_INDEX : (start + (t + 1) * step) % VOCAB;
                }
            }
            out.add(new Batch(Nd4j.createFromArray(ids), targets));
        }
        return out;
    }

    private static Map<String, INDArray> snapshot(Map<String, Parameter> parameters) {
        Map<String, INDArray> copy = new LinkedHashMap<>();
        parameters.forEach((name, p) -> copy.put(name, p.value().dup()));
        return copy;
    }

    @Test
    void loraOnQueryAndValueLearnsInTwoHundredStepsAndLeavesTheBaseBitwiseUnchanged() {
        Init.seed(2024);
        TinyTransformer model = new TinyTransformer(VOCAB, 32, 4, 2, TIME);
        LoraModel<TinyTransformer> lora = Lora.wrap(model, LoraConfig.builder()
                .rank(8).alpha(16).targetModules("query", "value").modulesToSave("head").seed(1).build());

        long adapters = 2L * 2 * 8 * (32 + 32);
        long head = 32L * VOCAB + VOCAB;
        assertEquals(adapters + head, lora.summary().trainable(), "r·(in+out) per adapted matrix, plus the saved head");

        Map<String, INDArray> before = snapshot(model.namedParameters());
        CrossEntropyLoss crossEntropy = new CrossEntropyLoss();
        TrainingTask<Batch> task = TrainingTask.of(
                (Batch b) -> crossEntropy.compute(model.forward(b.ids()), b.targets()), b -> b.targets().length);
        Trainer trainer = Lora4j.injector(new AbstractModule() {
            @Override
            protected void configure() {
                bind(TrainingConfig.class).toInstance(TrainingConfig.builder()
                        .maxSteps(200).epochs(1000).learningRate(1e-2).warmupSteps(10).seed(3).build());
            }
        }).getInstance(Trainer.class);

        TrainingResult result = trainer.fit(model, batches(25, 16, 5), task);

        assertEquals(200, result.steps());
        double first = mean(result.losses().subList(0, 10));
        double last = mean(result.losses().subList(190, 200));
        assertTrue(last < 0.5 * first, "loss must fall by half: first 10 steps " + first + ", last 10 steps " + last);

        Map<String, Parameter> after = model.namedParameters();
        before.forEach((name, value) -> {
            boolean changed = !value.equals(after.get(name).value());
            boolean mayChange = name.contains(".lora_") || name.startsWith("head.");
            if (mayChange) {
                assertTrue(changed, name + " trains and must change");
            } else {
                assertFalse(changed, name + " is a frozen base weight and must be bitwise unchanged");
            }
        });

        INDArray ids = batches(1, 8, 99).get(0).ids();
        model.eval();
        INDArray unmerged = model.forward(ids).value().dup();
        lora.merge();
        INDArray merged = model.forward(ids).value().dup();
        double diff = LoraLinearTest.maxAbsDiff(unmerged, merged);
        assertTrue(diff < 1e-5, "merged vs unmerged logits after training, max abs diff " + diff);
        lora.unmerge();
        before.forEach((name, value) -> {
            if (!name.contains(".lora_") && !name.startsWith("head.")) {
                double drift = LoraLinearTest.maxAbsDiff(value, model.namedParameters().get(name).value());
                assertTrue(drift < 1e-6, name + " restored by unmerge within 1e-6, drift " + drift);
            }
        });
        Tensor check = model.forward(ids);
        assertTrue(LoraLinearTest.maxAbsDiff(unmerged, check.value()) < 1e-5);
    }

    private static double mean(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    }
}
