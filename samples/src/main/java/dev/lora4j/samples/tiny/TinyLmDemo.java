package dev.lora4j.samples.tiny;

import dev.lora4j.Lora;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.LoraLayers;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Parameter;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fine-tunes the LoRA adapters of a {@link TinyLm} on one sentence for a few steps, with or
 * without the agent:
 *
 * <pre>
 * java -javaagent:lora4j-runtime-&lt;version&gt;-all.jar -cp lora4j-samples-&lt;version&gt;.jar dev.lora4j.samples.tiny.TinyLmDemo
 * java -cp lora4j-runtime-&lt;version&gt;-all.jar:lora4j-samples-&lt;version&gt;.jar dev.lora4j.samples.tiny.TinyLmDemo
 * </pre>
 */
public final class TinyLmDemo {

    private static final String TEXT = "low rank adaptation of large language models";

    private TinyLmDemo() {}

    /** Runs the demo; {@code --self-attach} installs the agent from inside first. */
    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("--self-attach")) {
            LoraAgent.install();
        }
        Init.seed(7);
        int length = 16;
        TinyLm model = new TinyLm(128, 32, 4, 2, length);
        boolean byAgent = LoraLayers.of(model.blocks().get(0).attention().query()) != null;
        LoraModel<TinyLm> lora = byAgent ? Lora.adopt(model) : Lora.inject(model);
        System.out.println((byAgent ? "adapters attached by the agent (" + LoraAgent.installation().orElseThrow() + ")"
                : "adapters attached by Lora.inject") + "; " + lora.summary());

        int[][] targets = new int[1][length];
        int[][] inputs = new int[1][length];
        for (int t = 0; t < length; t++) {
            inputs[0][t] = TEXT.charAt(t);
            targets[0][t] = TEXT.charAt(t + 1);
        }
        var ids = Nd4j.createFromArray(inputs);
        for (int step = 0; step <= 20; step++) {
            Tensor loss = model.loss(ids, targets);
            loss.backward();
            for (Parameter p : model.trainableParameters()) {
                p.value().subi(p.grad().mul(0.5));
            }
            model.zeroGrad();
            if (step % 5 == 0) {
                System.out.printf("step %2d  loss %.4f%n", step, loss.item());
            }
        }
    }
}
