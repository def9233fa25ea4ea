package dev.lora4j.it.bench;

import dev.lora4j.api.LoraInit;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.LoraLayer;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.train.AdamW;
import dev.lora4j.train.ParameterGroups;
import java.util.List;
import java.util.Random;
import dev.lora4j.autograd.internal.Gemm;
import dev.lora4j.lora.internal.LayerMutations;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The single-layer figures of BENCHMARKS.md: a LoRA train step against a full fine-tuning step,
 * and unmerged/merged LoRA inference against the base layer, each pair measured side by side,
 * plus the machine's GEMM ceiling.
 */
public final class LayerBenchmarks {

    private LayerBenchmarks() {}

    /** A module holding one linear layer, so that optimizers see named parameters. */
    static final class OneLayer extends Module {
        final Linear layer;

        OneLayer(Linear layer) {
            this.layer = layer;
        }
    }

    /** lora4j's best float32 GEMM rate: {@code Gemm.into} of n×n into a preallocated output, in GFLOP/s. */
    public static double gemmCeiling(int n, int repetitions) {
        INDArray a = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray b = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray c = Nd4j.create(DataType.FLOAT, n, n);
        for (int i = 0; i < 3; i++) {
            Gemm.into(a, b, c, false, false, 1.0, 0.0);
        }
        double best = Double.MAX_VALUE;
        for (int i = 0; i < repetitions; i++) {
            long start = System.nanoTime();
            Gemm.into(a, b, c, false, false, 1.0, 0.0);
            best = Math.min(best, System.nanoTime() - start);
        }
        return 2.0 * n * n * n / best;
    }

    private static Linear layer(int features, long seed) {
        return new Linear(features, features, true, new Random(seed));
    }

    private static Runnable trainStep(OneLayer model, AdamW optimizer, INDArray x) {
        Tensor input = Tensor.constant(x);
        return () -> {
            optimizer.zeroGrad();
            Tensor loss = model.layer.forward(input).mul(model.layer.forward(input)).mean();
            loss.backward();
            optimizer.step(1e-4);
        };
    }

    /** LoRA (r) train step ÷ full fine-tuning step on a {@code features}² layer, batch {@code batch}. */
    public static SideBySide.Result trainStep(int features, int batch, int rank, int rounds) {
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, features);
        OneLayer lora = new OneLayer(layer(features, 1));
        lora.freeze();
        LoraLayer adapters = LayerMutations.attach(lora.layer);
        LayerMutations.addAdapter(adapters, "default", new AdapterSettings(rank, 2 * rank, 0, false, LoraInit.RANDOM),
                new Random(2));
        OneLayer full = new OneLayer(layer(features, 1));
        AdamW loraOptimizer = new AdamW(ParameterGroups.standard(lora, 0.01));
        AdamW fullOptimizer = new AdamW(ParameterGroups.standard(full, 0.01));
        return SideBySide.compare(String.format("LoRA train step / full fine-tune step (%d² Linear, batch %d, r=%d)",
                        features, batch, rank),
                trainStep(lora, loraOptimizer, x), trainStep(full, fullOptimizer, x), Math.max(3, rounds / 5), rounds, 3);
    }

    /** Unmerged and merged LoRA forward ÷ base forward. */
    public static List<SideBySide.Result> inference(int features, int batch, int rank, int rounds) {
        Tensor x = Tensor.constant(Nd4j.rand(DataType.FLOAT, batch, features));
        Linear base = layer(features, 3);
        Linear adapted = layer(features, 3);
        LayerMutations.addAdapter(LayerMutations.attach(adapted), "default",
                new AdapterSettings(rank, 2 * rank, 0, false, LoraInit.RANDOM), new Random(4));
        Linear merged = layer(features, 3);
        LoraLayer mergedAdapters = LayerMutations.attach(merged);
        LayerMutations.addAdapter(mergedAdapters, "default", new AdapterSettings(rank, 2 * rank, 0, false, LoraInit.RANDOM),
                new Random(4));
        LayerMutations.merge(mergedAdapters, List.of("default"));
        base.eval();
        adapted.eval();
        merged.eval();
        try (GradMode.Scope ignored = GradMode.disable()) {
            SideBySide.Result unmergedResult = SideBySide.compare(
                    String.format("unmerged LoRA forward / base forward (%d² Linear, batch %d, r=%d)", features, batch, rank),
                    () -> adapted.forward(x), () -> base.forward(x), Math.max(3, rounds / 5), rounds, 20);
            SideBySide.Result mergedResult = SideBySide.compare(
                    String.format("merged LoRA forward / base forward (%d² Linear, batch %d)", features, batch),
                    () -> merged.forward(x), () -> base.forward(x), Math.max(3, rounds / 5), rounds, 20);
            return List.of(unmergedResult, mergedResult);
        }
    }
}
