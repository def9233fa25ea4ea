package dev.lora4j.autograd;

/**
 * How a 2-d convolution or pooling window moves over an NCHW input: the stride, the zero padding
 * on each side and the dilation along height and width, and the number of channel groups
 * (convolutions only; pooling takes 1). Output sizes follow PyTorch (floor mode):
 * {@code out = ⌊(in + 2·pad − dilation·(k − 1) − 1) / stride⌋ + 1}.
 *
 * @param strideH the step between windows along the height, at least 1
 * @param strideW the step along the width, at least 1
 * @param padH zero rows added above and below, at least 0
 * @param padW zero columns added left and right, at least 0
 * @param dilationH the spacing of kernel taps along the height, at least 1
 * @param dilationW the spacing along the width, at least 1
 * @param groups channel groups: input and output channels split into this many independent
 *     convolutions (1 for an ordinary convolution, the channel count for a depthwise one)
 */
public record ConvGeometry(int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups) {

    /** Stride 1, no padding, no dilation, one group. */
    public static final ConvGeometry DEFAULT = new ConvGeometry(1, 1, 0, 0, 1, 1, 1);

    /** Validates every field; the message names it. */
    public ConvGeometry {
        if (strideH < 1 || strideW < 1) {
            throw new IllegalArgumentException("stride must be at least 1, got " + strideH + "x" + strideW);
        }
        if (padH < 0 || padW < 0) {
            throw new IllegalArgumentException("padding must not be negative, got " + padH + "x" + padW);
        }
        if (dilationH < 1 || dilationW < 1) {
            throw new IllegalArgumentException("dilation must be at least 1, got " + dilationH + "x" + dilationW);
        }
        if (groups < 1) {
            throw new IllegalArgumentException("groups must be at least 1, got " + groups);
        }
    }

    /** The same stride and padding along both axes, no dilation, one group. */
    public static ConvGeometry of(int stride, int padding) {
        return new ConvGeometry(stride, stride, padding, padding, 1, 1, 1);
    }

    /** The same stride, padding and dilation along both axes. */
    public static ConvGeometry of(int stride, int padding, int dilation, int groups) {
        return new ConvGeometry(stride, stride, padding, padding, dilation, dilation, groups);
    }

    /** This geometry with another group count. */
    public ConvGeometry withGroups(int newGroups) {
        return new ConvGeometry(strideH, strideW, padH, padW, dilationH, dilationW, newGroups);
    }

    /** The output height for an input of height {@code height} and a kernel of height {@code kernel}. */
    public long outputHeight(long height, long kernel) {
        return outputSize(height, kernel, strideH, padH, dilationH);
    }

    /** The output width for an input of width {@code width} and a kernel of width {@code kernel}. */
    public long outputWidth(long width, long kernel) {
        return outputSize(width, kernel, strideW, padW, dilationW);
    }

    /** Whether a 1×1 kernel reads the input as it is (stride 1, no padding): no patch extraction needed. */
    boolean isPointwiseIdentity() {
        return strideH == 1 && strideW == 1 && padH == 0 && padW == 0;
    }

    private static long outputSize(long in, long kernel, int stride, int pad, int dilation) {
        long span = (long) dilation * (kernel - 1) + 1;
        long room = in + 2L * pad - span;
        return room < 0 ? 0 : room / stride + 1;
    }
}
