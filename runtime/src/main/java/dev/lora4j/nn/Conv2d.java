package dev.lora4j.nn;

import dev.lora4j.autograd.ConvGeometry;
import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import java.util.Random;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A 2-d convolution over NCHW input, as PyTorch's {@code nn.Conv2d} with zero padding: weight
 * {@code [out, in/groups, kh, kw]}, optional bias {@code [out]}, stride, padding, dilation and
 * groups from a {@link ConvGeometry}. It can carry adapters (LoRA's are {@code dev.lora4j.lora.LoraConv2d}), so a
 * {@code Conv2d} field can be annotated with {@code @LoRA} or targeted by a config.
 */
public class Conv2d extends AdaptableLayer<LayerAdapters.OnInput> implements UnaryModule {

    protected final Parameter weight;
    protected final @Nullable Parameter bias;
    protected final ConvGeometry geometry;

    /** A square-kernel convolution with a bias, stride 1 and no padding. */
    public Conv2d(long inChannels, long outChannels, int kernel) {
        this(inChannels, outChannels, kernel, ConvGeometry.DEFAULT, true);
    }

    /** A square-kernel convolution, initialised as PyTorch does. */
    public Conv2d(long inChannels, long outChannels, int kernel, ConvGeometry geometry, boolean withBias) {
        this(inChannels, outChannels, kernel, kernel, geometry, withBias, Init.random());
    }

    /**
     * A convolution initialised from {@code random} as PyTorch does: weight and bias uniform in
     * {@code ±1/√fanIn}, {@code fanIn = in/groups · kh · kw} (Kaiming-uniform with a = √5).
     */
    public Conv2d(long inChannels, long outChannels, int kernelH, int kernelW, ConvGeometry geometry, boolean withBias,
            Random random) {
        this(initialWeight(inChannels, outChannels, kernelH, kernelW, geometry, random),
                withBias ? new Parameter(Init.uniform(random, 1.0 / Math.sqrt(fanIn(inChannels, kernelH, kernelW, geometry)),
                        outChannels)) : null,
                geometry);
    }

    /**
     * A convolution over existing weights (not copied).
     *
     * @param weight {@code [out, in/groups, kh, kw]}
     * @param bias {@code [out]} or {@code null}
     */
    public Conv2d(Parameter weight, @Nullable Parameter bias, ConvGeometry geometry) {
        if (weight.rank() != 4) {
            throw new IllegalArgumentException("a convolution weight must be [out, in/groups, kh, kw], got rank "
                    + weight.rank());
        }
        if (weight.size(0) % geometry.groups() != 0) {
            throw new IllegalArgumentException(weight.size(0) + " output channels do not split into "
                    + geometry.groups() + " groups");
        }
        if (bias != null && bias.value().length() != weight.size(0)) {
            throw new IllegalArgumentException("bias has " + bias.value().length() + " elements, expected " + weight.size(0));
        }
        this.weight = weight;
        this.bias = bias;
        this.geometry = geometry;
    }

    /** A convolution over copies of the given arrays (bias may be null). */
    public static Conv2d of(INDArray weight, @Nullable INDArray bias, ConvGeometry geometry) {
        return new Conv2d(new Parameter(weight.dup()), bias == null ? null : new Parameter(bias.dup()), geometry);
    }

    private static Parameter initialWeight(long in, long out, int kh, int kw, ConvGeometry geometry, Random random) {
        if (in % geometry.groups() != 0) {
            throw new IllegalArgumentException(in + " input channels do not split into " + geometry.groups() + " groups");
        }
        return new Parameter(Init.kaimingUniform(random, fanIn(in, kh, kw, geometry), out, in / geometry.groups(), kh, kw));
    }

    private static long fanIn(long in, int kh, int kw, ConvGeometry geometry) {
        return in / geometry.groups() * kh * kw;
    }

    /**
     * The convolution of {@code x [N, in, H, W]}, plus the updates of the active LoRA adapters when
     * any are attached. A subclass that overrides this should call {@code super.forward}.
     */
    @Override
    public Tensor forward(Tensor x) {
        LayerAdapters.OnInput attached = adapters();
        return attached == null ? Functional.conv2d(x, weight, bias, geometry) : attached.forward(x, isTraining());
    }


    /** The weight {@code [out, in/groups, kh, kw]}. */
    @Override
    public Parameter weight() {
        return weight;
    }

    /** The bias, or {@code null}. */
    public @Nullable Parameter bias() {
        return bias;
    }

    /** Stride, padding, dilation and groups. */
    public ConvGeometry geometry() {
        return geometry;
    }

    /** Input channels. */
    public long inChannels() {
        return weight.size(1) * geometry.groups();
    }

    /** Output channels. */
    public long outChannels() {
        return weight.size(0);
    }

    /** The kernel height. */
    public int kernelH() {
        return Math.toIntExact(weight.size(2));
    }

    /** The kernel width. */
    public int kernelW() {
        return Math.toIntExact(weight.size(3));
    }

    /** The channel groups. */
    public int groups() {
        return geometry.groups();
    }

    @Override
    public String toString() {
        ConvGeometry g = geometry;
        StringBuilder s = new StringBuilder(getClass().getSimpleName()).append('(').append(inChannels()).append(" -> ")
                .append(outChannels()).append(", ").append(kernelH()).append('x').append(kernelW());
        if (g.strideH() != 1 || g.strideW() != 1) {
            s.append(", stride ").append(pair(g.strideH(), g.strideW()));
        }
        if (g.padH() != 0 || g.padW() != 0) {
            s.append(", padding ").append(pair(g.padH(), g.padW()));
        }
        if (g.dilationH() != 1 || g.dilationW() != 1) {
            s.append(", dilation ").append(pair(g.dilationH(), g.dilationW()));
        }
        if (g.groups() != 1) {
            s.append(", groups ").append(g.groups());
        }
        return s.append(bias == null ? ", no bias" : "").append(')').toString();
    }

    private static String pair(int h, int w) {
        return h == w ? Integer.toString(h) : h + "x" + w;
    }
}
