package dev.lora4j.nn;

import dev.lora4j.autograd.ConvGeometry;
import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;

/**
 * Average pooling over NCHW input, as PyTorch's {@code nn.AvgPool2d} (floor mode; by default the
 * zero padding counts in the divisor, {@code count_include_pad=True}).
 */
public class AvgPool2d extends Module implements UnaryModule {

    private final int kernelH;
    private final int kernelW;
    private final ConvGeometry geometry;
    private final boolean countIncludePad;

    /** Non-overlapping {@code kernel × kernel} windows (the stride is the kernel, PyTorch's default). */
    public AvgPool2d(int kernel) {
        this(kernel, kernel, 0);
    }

    /** Square windows with the given stride and padding; padding counts in the divisor. */
    public AvgPool2d(int kernel, int stride, int padding) {
        this(kernel, kernel, ConvGeometry.of(stride, padding), true);
    }

    /**
     * {@code kernelH × kernelW} windows placed by {@code geometry} (no dilation, no groups).
     *
     * @param countIncludePad whether padded zeros count in the divisor
     */
    public AvgPool2d(int kernelH, int kernelW, ConvGeometry geometry, boolean countIncludePad) {
        if (geometry.groups() != 1 || geometry.dilationH() != 1 || geometry.dilationW() != 1) {
            throw new IllegalArgumentException("average pooling takes no groups and no dilation, got " + geometry);
        }
        this.kernelH = kernelH;
        this.kernelW = kernelW;
        this.geometry = geometry;
        this.countIncludePad = countIncludePad;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.avgPool2d(x, kernelH, kernelW, geometry, countIncludePad);
    }

    @Override
    public String toString() {
        return "AvgPool2d(" + kernelH + "x" + kernelW + ", " + geometry + ")";
    }
}
