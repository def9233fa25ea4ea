package dev.lora4j.lora;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.autograd.internal.Gemm;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.LayerAdapters;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Parameter;
import java.util.List;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * LoRA on a {@link Linear} layer, computed as PEFT does:
 * {@code y = base(x) + Σ s·B(A(dropout(x)))} over the active, unmerged adapters, with
 * {@code A [r, in]} and {@code B [out, r]}. The update is never formed as a matrix in the
 * forward or backward pass; only merging forms {@code s·B·A}.
 */
public final class LoraLinear extends LoraLayer implements LayerAdapters.OnInput {

    private final Linear base;

    /** Adapters for {@code base}, not yet attached: {@link LoraLayers#attach(Linear)} makes and attaches them. */
    LoraLinear(Linear base) {
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
        return new long[] {rank, base.inFeatures()};
    }

    @Override
    public long[] bShape(int rank) {
        return new long[] {base.outFeatures(), rank};
    }

    @Override
    protected Parameter[] createFactors(AdapterSpec spec, Random random) {
        long in = base.inFeatures();
        long out = base.outFeatures();
        int r = spec.rank();
        INDArray a;
        INDArray b;
        switch (spec.init()) {
            case KAIMING_UNIFORM -> {
                a = Init.kaimingUniform(random, in, r, in);
                b = Nd4j.zeros(base.weight().dataType(), out, r);
            }
            case GAUSSIAN -> {
                a = Init.normal(random, 1.0 / r, r, in);
                b = Nd4j.zeros(base.weight().dataType(), out, r);
            }
            case RANDOM -> {
                a = Init.kaimingUniform(random, in, r, in);
                b = Init.kaimingUniform(random, r, out, r);
            }
            default -> throw new IllegalArgumentException("unknown init " + spec.init());
        }
        return new Parameter[] {
            new Parameter(DataTypes.match(a, base.weight())), new Parameter(DataTypes.match(b, base.weight()))
        };
    }

    @Override
    public INDArray deltaWeight(LoraAdapter adapter) {
        // [out, in] = B·A; [in, out] = (B·A)ᵀ = Aᵀ·Bᵀ
        INDArray delta = base.isFanInFanOut()
                ? Gemm.product(adapter.a().value(), adapter.b().value(), true, true)
                : Gemm.product(adapter.b().value(), adapter.a().value(), false, false);
        return delta.muli(adapter.scaling());
    }

    /**
     * The layer's output with the active adapters: one fused operation computing
     * {@code x·Wᵀ + b + Σ s·B(A(dropout(x)))} (see {@link Functional#linearWithLora}); without
     * active adapters the plain linear output.
     */
    @Override
    public Tensor forward(Tensor x, boolean training) {
        List<LoraAdapter> adapters = unmergedActive();
        if (adapters.isEmpty()) {
            return Functional.linear(x, base.weight(), base.bias(), base.isFanInFanOut());
        }
        int n = adapters.size();
        Tensor[] inputs = new Tensor[n];
        Tensor[] a = new Tensor[n];
        Tensor[] b = new Tensor[n];
        double[] scaling = new double[n];
        for (int i = 0; i < n; i++) {
            LoraAdapter adapter = adapters.get(i);
            double p = adapter.spec().dropout();
            inputs[i] = training && p > 0 ? Functional.dropout(x, p, adapter.dropoutRandom()) : x;
            a[i] = adapter.a();
            b[i] = adapter.b();
            scaling[i] = adapter.scaling();
        }
        return Functional.linearWithLora(x, base.weight(), base.bias(), base.isFanInFanOut(), inputs, a, b, scaling);
    }

    /** The adapted layer. */
    public Linear base() {
        return base;
    }
}
