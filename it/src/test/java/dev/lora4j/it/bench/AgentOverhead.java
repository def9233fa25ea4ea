package dev.lora4j.it.bench;

import dev.lora4j.Lora;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Parameter;
import dev.lora4j.samples.tiny.TinyLm;
import java.util.Map;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * An agent-instrumented {@link TinyLm} against {@link HandBuiltLm} with identical weights
 * (adapters included, B made non-zero so the adapter path does real work).
 */
public final class AgentOverhead {

    private final TinyLm instrumented;
    private final HandBuiltLm handBuilt;
    private final INDArray ids;

    /** Builds both models (the agent must be installed) and copies the weights across. */
    public AgentOverhead() {
        instrumented = new TinyLm(64, 64, 4, 2, 32);
        LoraModel<TinyLm> lora = Lora.adopt(instrumented);
        Random random = new Random(3);
        lora.layers().values().forEach(layer -> layer.adapter("default").b().value()
                .assign(Nd4j.randn(random.nextLong(), layer.adapter("default").b().shape()).muli(0.02)));
        handBuilt = new HandBuiltLm(64, 64, 4, 2, 32);
        Map<String, Parameter> source = instrumented.namedParameters();
        Map<String, Parameter> target = handBuilt.namedParameters();
        if (!source.keySet().equals(target.keySet())) {
            throw new IllegalStateException("the two models differ: " + source.keySet() + " vs " + target.keySet());
        }
        source.forEach((name, p) -> target.get(name).value().assign(p.value()));
        instrumented.eval();
        handBuilt.eval();
        int[][] tokens = new int[16][32];
        for (int[] row : tokens) {
            for (int t = 0; t < row.length; t++) {
                row[t] = random.nextInt(64);
            }
        }
        ids = Nd4j.createFromArray(tokens);
    }

    /** The largest difference between the two models' logits on the benchmark batch. */
    public double maxOutputDifference() {
        try (GradMode.Scope ignored = GradMode.disable()) {
            return instrumented.forward(ids).value().sub(handBuilt.forward(ids).value()).amaxNumber().doubleValue();
        }
    }

    /** Forward passes of both, interleaved: ratio = instrumented / hand-built. */
    public SideBySide.Result run(int rounds) {
        return SideBySide.compare("agent-instrumented forward / hand-built LoRA forward (TinyLm 64-dim, batch 16×32)",
                () -> instrumented.forward(ids), () -> handBuilt.forward(ids), Math.max(3, rounds / 5), rounds, 5);
    }

}
