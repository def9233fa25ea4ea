package dev.lora4j.nn;

import dev.lora4j.autograd.ConvGeometry;
import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;

/** Max pooling over NCHW input, as PyTorch's {@code nn.MaxPool2d} (floor mode; padding never wins). */
public class MaxPool2d extends Module implements UnaryModule {

    private final int kernelH;
    private final int kernelW;
    private final ConvGeometry geometry;

    /** Non-overlapping {@code kernel × kernel} windows (the stride is the kernel, PyTorch's default). */
    public MaxPool2d(int kernel) {
        this(kernel, kernel, 0);
    }

    /** Square windows with the given stride and padding. */
    public MaxPool2d(int kernel, int stride, int padding) {
        this(kernel, kernel, ConvGeometry.of(stride, padding));
    }

    /** {@code kernelH × kernelW} windows placed by {@code geometry} (its groups must be 1). */
    public MaxPool2d(int kernelH, int kernelW, ConvGeometry geometry) {
        if (geometry.groups() != 1) {
            throw new IllegalArgumentException("pooling takes no groups, got " + geometry.groups());
        }
        this.kernelH = kernelH;
        this.kernelW = kernelW;
        this.geometry = geometry;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.maxPool2d(x, kernelH, kernelW, geometry);
    }

    @Override
    public String toString() {
        return "MaxPool2d(" + kernelH + "x" + kernelW + ", " + geometry + ")";
    }
}
