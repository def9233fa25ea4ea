package dev.lora4j.lora;

import dev.lora4j.autograd.ConvGeometry;
import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.autograd.internal.Gemm;
import dev.lora4j.nn.Conv2d;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.LayerAdapters;
import dev.lora4j.nn.Parameter;
import java.util.List;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * LoRA on a {@link Conv2d}, as PEFT's {@code lora.Conv2d} computes it:
 * {@code y = base(x) + Σ s·B(A(dropout(x)))} over the active, unmerged adapters, where
 *
 * <ul>
 *   <li>A is a convolution from the base's input channels to r channels with the base's kernel
 *       size, stride and padding and one group: {@code lora_A.weight [r, in, kh, kw]};
 *   <li>B is a 1×1 convolution (stride 1, no padding) from r channels to the base's output
 *       channels with the base's groups: {@code lora_B.weight [out, r/groups, 1, 1]}, so r must be
 *       a multiple of the groups (PEFT's rule).
 * </ul>
 *
 * A starts Kaiming-uniform ({@code ±1/√(in·kh·kw)}, the fan-in of A's own weight) and B at zero.
 * Merging adds {@code ΔW = s · (B[out, r] · A[r, in·kh·kw])} reshaped to {@code [out, in, kh, kw]},
 * which is what PEFT's {@code get_delta_weight} computes for 1×1 kernels (a matrix product of the
 * squeezed factors) and for k×k kernels (the convolution of Aᵀ with B, transposed back): both equal
 * {@code ΔW[o, i, u, v] = s · Σ_k B[o, k] · A[k, i, u, v]}. As in PEFT, an adapter on a grouped
 * convolution (groups > 1) trains and runs but cannot be merged: its update is not a grouped kernel.
 *
 * <p><b>DoRA.</b> On an ungrouped convolution a DoRA adapter has a magnitude {@code m [1, out, 1,
 * 1]} (PEFT's shape) and stands for the kernel {@code m ⊙ (W + s·ΔW) / ‖W + s·ΔW‖}, the norm per
 * output channel over {@code [in, kh, kw]}, as PEFT's {@code DoraConv2dLayer}: with {@code g = m /
 * ‖·‖} detached it adds {@code (g − 1)·(result − bias) + g·s·B(A(x))} to the result so far, per
 * channel, or {@code (g − 1)·conv(x̃, W) + g·s·B(A(x̃))} with {@code x̃ = dropout(x)} in training
 * with dropout. PEFT cannot make DoRA adapters on grouped convolutions; they are refused.
 *
 * <p>One difference from PEFT: PEFT builds A without the base's dilation, so a dilated base
 * convolution gives A an output of another size and PEFT's forward pass fails; here A uses the
 * base's dilation, which keeps {@code base(x) + s·B(A(x))} equal to the merged convolution. The
 * saved factors have the same shapes either way.
 */
public final class LoraConv2d extends LoraLayer implements LayerAdapters.OnInput {

    private final Conv2d base;

    /** Adapters for {@code base}, not yet attached: {@link LoraLayers#attach(Conv2d)} makes and attaches them. */
    LoraConv2d(Conv2d base) {
        super(base);
        this.base = base;
    }

    @Override
    public String aName() {
        return "lora_A";
    }

    @Override
    public String bName() {
        return "lora_B";
    }

    @Override
    public long[] aShape(int rank) {
        return new long[] {rank, base.inChannels(), base.kernelH(), base.kernelW()};
    }

    @Override
    public long[] bShape(int rank) {
        checkRank(rank);
        return new long[] {base.outChannels(), rank / base.groups(), 1, 1};
    }

    private void checkRank(int rank) {
        if (rank % base.groups() != 0) {
            throw new IllegalArgumentException("LoRA rank " + rank + " on " + base + ": the rank must be a multiple of the"
                    + " convolution's groups (" + base.groups() + "), as in PEFT");
        }
    }

    @Override
    Parameter[] createFactors(AdapterSettings spec, Random random) {
        int r = spec.rank();
        long[] aShape = aShape(r);
        long[] bShape = bShape(r);
        long aFanIn = aShape[1] * aShape[2] * aShape[3];
        INDArray a;
        INDArray b;
        switch (spec.init()) {
            case KAIMING_UNIFORM -> {
                a = Init.kaimingUniform(random, aFanIn, aShape);
                b = Nd4j.zeros(base.weight().dataType(), bShape);
            }
            case GAUSSIAN -> {
                a = Init.normal(random, 1.0 / r, aShape);
                b = Nd4j.zeros(base.weight().dataType(), bShape);
            }
            case RANDOM -> {
                a = Init.kaimingUniform(random, aFanIn, aShape);
                b = Init.kaimingUniform(random, bShape[1], bShape);
            }
            default -> throw new IllegalArgumentException("unknown init " + spec.init());
        }
        return new Parameter[] {
            new Parameter(DataTypes.match(a, base.weight())), new Parameter(DataTypes.match(b, base.weight()))
        };
    }

    /** DoRA adapters can sit on an ungrouped convolution (PEFT fails to make them on a grouped one). */
    @Override
    public boolean supportsDora() {
        return base.groups() == 1;
    }

    /** PEFT's shape, {@code [1, out, 1, 1]}: the weight norm keeps its dimensions and is transposed. */
    @Override
    public long[] magnitudeShape() {
        return new long[] {1, base.outChannels(), 1, 1};
    }

    /** False for a grouped convolution, whose adapters PEFT does not merge either. */
    @Override
    public boolean isMergeable() {
        return base.groups() == 1;
    }

    /**
     * {@code s · (B·A)} as a kernel {@code [out, in, kh, kw]}.
     *
     * @throws UnsupportedOperationException for a grouped convolution, as PEFT
     */
    @Override
    public INDArray deltaWeight(LoraAdapter adapter) {
        if (base.groups() > 1) {
            throw new UnsupportedOperationException("cannot merge LoRA into " + base + ": the update of an adapter on a"
                    + " grouped convolution is not a grouped kernel (PEFT does not merge these either)");
        }
        long r = adapter.a().size(0);
        INDArray a2 = adapter.a().value().reshape('c', r, base.inChannels() * base.kernelH() * base.kernelW());
        INDArray b2 = adapter.b().value().reshape('c', base.outChannels(), r);
        return Gemm.product(b2, a2, false, false).reshape('c', base.weight().shape()).muli(adapter.scaling());
    }

    /**
     * The base convolution of {@code x} plus the active adapters' updates. Without dropout (in
     * evaluation mode, or adapters with dropout 0) the base and the adapters share one im2col
     * column matrix ({@link Functional#conv2dWithLora}); with dropout, or with a DoRA adapter, the
     * adapters apply one after another ({@link #addUpdates}).
     */
    @Override
    public Tensor forward(Tensor x, boolean training) {
        List<LoraAdapter> adapters = unmergedActive();
        ConvGeometry geometry = base.geometry();
        boolean inOrder = false;
        for (LoraAdapter adapter : adapters) {
            inOrder |= training && adapter.spec().dropout() > 0 || adapter.isDora();
        }
        if (adapters.isEmpty() || inOrder) {
            return addUpdates(x, Functional.conv2d(x, base.weight(), base.bias(), geometry), training);
        }
        Tensor[] as = new Tensor[adapters.size()];
        Tensor[] bs = new Tensor[adapters.size()];
        double[] scalings = new double[adapters.size()];
        for (int i = 0; i < as.length; i++) {
            as[i] = adapters.get(i).a();
            bs[i] = adapters.get(i).b();
            scalings[i] = adapters.get(i).scaling();
        }
        return Functional.conv2dWithLora(x, base.weight(), base.bias(), geometry, as, bs, scalings);
    }

    /**
     * Adds the active adapters' updates for input {@code x} to the base output {@code y} (bias
     * included), one after another as PEFT's {@code lora.Conv2d.forward} applies them; a DoRA
     * adapter adds the term of {@code DoraConv2dLayer.forward} (see the class comment).
     */
    public Tensor addUpdates(Tensor x, Tensor y, boolean training) {
        List<LoraAdapter> adapters = unmergedActive();
        Tensor out = y;
        ConvGeometry geometry = base.geometry();
        Parameter bias = base.bias();
        for (LoraAdapter adapter : adapters) {
            double p = adapter.spec().dropout();
            boolean dropping = training && p > 0;
            Tensor input = dropping ? Functional.dropout(x, p, adapter.dropoutRandom()) : x;
            Tensor lora = Functional.loraConv2d(input, adapter.a(), adapter.b(), adapter.scaling(), geometry);
            if (!adapter.isDora()) {
                out = out.add(lora);
                continue;
            }
            // PEFT reuses the output so far, minus the bias, unless dropout changed the input
            Tensor baseOutput = dropping ? Functional.conv2d(input, base.weight(), null, geometry)
                    : bias == null ? out : out.sub(bias.reshape(1, base.outChannels(), 1, 1));
            out = out.add(Functional.doraTerm(baseOutput, lora, adapter.magnitude(), doraWeightNorm(adapter), 1));
        }
        return out;
    }

    /** The adapted layer. */
    public Conv2d base() {
        return base;
    }
}
