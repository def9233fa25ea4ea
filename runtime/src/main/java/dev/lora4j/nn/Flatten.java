package dev.lora4j.nn;

import dev.lora4j.autograd.Tensor;
import java.util.Arrays;

/** Flattens every dimension after the first: {@code [N, C, H, W] → [N, C·H·W]} (PyTorch's {@code nn.Flatten()}). */
public class Flatten extends Module implements UnaryModule {

    @Override
    public Tensor forward(Tensor x) {
        if (x.rank() < 2) {
            throw new IllegalArgumentException("flatten needs a batch dimension, the shape is " + Arrays.toString(x.shape()));
        }
        return x.rank() == 2 ? x : x.reshape(x.size(0), -1);
    }
}
