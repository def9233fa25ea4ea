package dev.lora4j.testing;

import dev.lora4j.autograd.ConvGeometry;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.AvgPool2d;
import dev.lora4j.nn.BatchNorm2d;
import dev.lora4j.nn.Conv2d;
import dev.lora4j.nn.Flatten;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.MaxPool2d;
import dev.lora4j.nn.Module;

/**
 * A small image classifier for 1×8×8 inputs, written as a user would: conv (3×3) → batch norm →
 * ReLU → max pool → conv (3×3, stride 2 or grouped) → ReLU → global average pool → linear head.
 */
public final class TinyCnn extends Module {

    public final Conv2d conv1;
    public final BatchNorm2d norm1;
    public final MaxPool2d pool;
    public final Conv2d conv2;
    public final AvgPool2d global;
    public final Flatten flatten;
    public final Linear head;

    /** Plain convolutions. */
    public TinyCnn() {
        this(1);
    }

    /** The second convolution split into {@code groups} groups. */
    public TinyCnn(int groups) {
        conv1 = new Conv2d(1, 4, 3, ConvGeometry.of(1, 1), false);
        norm1 = new BatchNorm2d(4);
        pool = new MaxPool2d(2);
        conv2 = new Conv2d(4, 8, 3, ConvGeometry.of(1, 1, 1, groups), true);
        global = new AvgPool2d(4);
        flatten = new Flatten();
        head = new Linear(8, 3);
    }

    /** {@code [N, 1, 8, 8]} → logits {@code [N, 3]}. */
    public Tensor forward(Tensor x) {
        Tensor h = pool.forward(norm1.forward(conv1.forward(x)).relu());
        h = conv2.forward(h).relu();
        return head.forward(flatten.forward(global.forward(h)));
    }
}
