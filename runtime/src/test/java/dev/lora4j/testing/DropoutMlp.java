package dev.lora4j.testing;

import dev.lora4j.Lora;
import dev.lora4j.api.LoraInit;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The data-parallel tests' model: an MLP (6 → 16 → 3) with a dropout layer, LoRA r = 4 (with its own
 * dropout) on both linears and the second one trained in full too, and a regression task for it
 * whose batches are plain arrays.
 */
public final class DropoutMlp extends Module {

    public final Linear fc1 = new Linear(6, 16, true, Init.random());
    public final Dropout drop;
    public final Linear fc2 = new Linear(16, 3, true, Init.random());

    private DropoutMlp(double dropout) {
        drop = new Dropout(dropout);
    }

    /** The output {@code [batch, 3]} for inputs {@code [batch, 6]}. */
    public Tensor forward(Tensor x) {
        return fc2.forward(drop.forward(fc1.forward(x).relu()));
    }

    /** The adapted model, the same weights every call (seeded). */
    public static LoraModel<DropoutMlp> adapted(double dropout) {
        Init.seed(123);
        return Lora.wrap(new DropoutMlp(dropout), LoraConfig.builder().rank(4).alpha(8).dropout(dropout)
                .targetModules("fc1", "fc2").modulesToSave("fc2").init(LoraInit.RANDOM).seed(77).build());
    }

    /** Copies of {@code model}'s trainable values, by parameter name. */
    public static Map<String, INDArray> trainableValues(Module model) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> {
            if (p.isTrainable()) {
                out.put(name, p.value().dup());
            }
        });
        return out;
    }

    /**
     * {@code count} batches of {@code size} examples, each {@code {x [size][6], y [size][3]}}, the
     * targets a fixed linear function of the inputs.
     */
    public static List<float[][][]> examples(int count, int size, long seed) {
        Random r = new Random(seed);
        List<float[][][]> out = new ArrayList<>();
        for (int b = 0; b < count; b++) {
            float[][] x = new float[size][6];
            float[][] y = new float[size][3];
            for (int i = 0; i < size; i++) {
                for (int j = 0; j < 6; j++) {
                    x[i][j] = (float) r.nextGaussian();
                }
                y[i][0] = x[i][0] - x[i][1];
                y[i][1] = x[i][2] * 0.5f;
                y[i][2] = x[i][3] + x[i][4] - x[i][5];
            }
            out.add(new float[][][] {x, y});
        }
        return out;
    }
}
