package dev.lora4j.samples.vision;

import dev.lora4j.autograd.ConvGeometry;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.AvgPool2d;
import dev.lora4j.nn.BatchNorm2d;
import dev.lora4j.nn.Conv2d;
import dev.lora4j.nn.Flatten;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.MaxPool2d;
import dev.lora4j.nn.Module;
import java.util.Random;

/**
 * A small CNN for 28×28 grayscale images, written as a user would write one: three 3×3
 * convolutions (1 → 16 → 32 → 64 channels, each followed by batch norm and ReLU), max pooling after
 * the first two, global average pooling, and a linear classification head. Module names follow
 * PyTorch's for the same fields ({@code conv1.weight}, {@code norm1.running_mean}, {@code head.bias}).
 */
public final class SmallCnn extends Module {

    /** The width of the pooled feature vector the head reads. */
    public static final int FEATURES = 64;

    final Conv2d conv1;
    final BatchNorm2d norm1;
    final MaxPool2d pool1;
    final Conv2d conv2;
    final BatchNorm2d norm2;
    final MaxPool2d pool2;
    final Conv2d conv3;
    final BatchNorm2d norm3;
    final AvgPool2d pool3;
    final Flatten flatten;
    Linear head;

    /** A network with a head for {@code classes} classes, initialised from lora4j's shared generator. */
    public SmallCnn(int classes) {
        ConvGeometry same = ConvGeometry.of(1, 1);
        conv1 = new Conv2d(1, 16, 3, same, false);
        norm1 = new BatchNorm2d(16);
        pool1 = new MaxPool2d(2);
        conv2 = new Conv2d(16, 32, 3, same, false);
        norm2 = new BatchNorm2d(32);
        pool2 = new MaxPool2d(2);
        conv3 = new Conv2d(32, FEATURES, 3, same, false);
        norm3 = new BatchNorm2d(FEATURES);
        pool3 = new AvgPool2d(7);
        flatten = new Flatten();
        head = new Linear(FEATURES, classes);
    }

    /** {@code [N, 1, 28, 28]} → logits {@code [N, classes]}. */
    public Tensor forward(Tensor images) {
        Tensor h = pool1.forward(norm1.forward(conv1.forward(images)).relu());
        h = pool2.forward(norm2.forward(conv2.forward(h)).relu());
        h = pool3.forward(norm3.forward(conv3.forward(h)).relu());
        return head.forward(flatten.forward(h));
    }

    /** Replaces the head by a new, randomly initialised one for {@code classes} classes (a new task). */
    public void replaceHead(int classes, Random random) {
        head = new Linear(FEATURES, classes, true, random);
    }

    /** The classification head. */
    public Linear head() {
        return head;
    }
}
