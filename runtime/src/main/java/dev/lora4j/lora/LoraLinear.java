package dev.lora4j.lora;

import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.api.LoraInit;
import dev.lora4j.autograd.internal.Gemm;
import dev.lora4j.lora.internal.BaseDecomposition;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.LayerAdapters;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Parameter;
import java.util.List;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * LoRA on a {@link Linear} layer, computed as PEFT does:
 * {@code y = base(x) + Σ s·B(A(dropout(x)))} over the active, unmerged adapters, with
 * {@code A [r, in]} and {@code B [out, r]}. The update is never formed as a matrix in the
 * forward or backward pass; only merging forms {@code s·B·A}.
 *
 * <p><b>DoRA.</b> A DoRA adapter ({@link AdapterSettings#dora()}) also has a magnitude {@code m [out]}
 * and stands for the weight {@code m ⊙ (W + s·B·A) / ‖W + s·B·A‖}, the norm taken per output
 * feature over the input dimension. Its forward is PEFT's {@code DoraLinearLayer}: with {@code g =
 * m / ‖W + s·B·A‖} (the norm recomputed from the current factors each pass and detached, so no
 * gradient flows through it), the adapter adds {@code (g − 1)·base + g·s·B(A(x))} to the output so
 * far, where {@code base} is that output minus the bias; in training with dropout {@code p > 0} it
 * adds {@code (g − 1)·(x̃·Wᵀ) + g·s·B(A(x̃))} with {@code x̃ = dropout(x)} instead. As in PEFT, the
 * adapters apply one after another in the active order, so a DoRA adapter also scales the output of
 * plain adapters applied before it. At creation {@code m = ‖W + s·B·A‖}, so the layer's output is
 * unchanged. DoRA forms {@code B·A} once per forward pass for the norm, as PEFT does.
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

    /** DoRA adapters can sit on a linear layer. */
    @Override
    public boolean supportsDora() {
        return true;
    }

    /** A fan-in-fan-out weight ({@code [in, out]}) holds the output features in its columns. */
    @Override
    boolean outputsAreColumns() {
        return base.isFanInFanOut();
    }

    @Override
    Parameter[] createFactors(AdapterSettings spec, Random random) {
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
            case PISSA, OLORA -> {
                INDArray[] ab = decompose(spec, random);
                a = ab[0];
                b = ab[1];
            }
            default -> throw new IllegalArgumentException("unknown init " + spec.init());
        }
        return new Parameter[] {
            new Parameter(DataTypes.match(a, base.weight())), new Parameter(DataTypes.match(b, base.weight()))
        };
    }

    /** Adapters initialised from the weight (PiSSA, OLoRA) can sit on a linear layer. */
    @Override
    public boolean supportsBaseDecomposition() {
        return true;
    }

    /**
     * PiSSA's or OLoRA's {@code {A, B}} from the base weight in PyTorch's {@code [out, in]} layout
     * (see {@link BaseDecomposition}); {@link #attach} leaves the residual in the base weight. PEFT
     * transposes a fan-in-fan-out weight for PiSSA but not for OLoRA (its factors would not fit), so
     * OLoRA on such a layer is refused.
     */
    private INDArray[] decompose(AdapterSettings spec, Random random) {
        if (spec.init() == LoraInit.OLORA && base.isFanInFanOut()) {
            throw new IllegalArgumentException("init OLORA (init_lora_weights \"olora\") is not supported on a"
                    + " fan-in-fan-out layer (" + base + "): PEFT's olora_init does not transpose the weight");
        }
        INDArray w = base.weight().value().castTo(DataType.DOUBLE);
        double[][] outIn = (base.isFanInFanOut() ? w.transpose() : w).toDoubleMatrix();
        double[][][] ab;
        try {
            ab = BaseDecomposition.factors(outIn, spec, random);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(base + ": " + e.getMessage(), e);
        }
        return new INDArray[] {Nd4j.create(ab[0]), Nd4j.create(ab[1])};
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
     * {@code x·Wᵀ + b + Σ s·B(A(dropout(x)))} (see {@link Functional#linearWithLora}); with a DoRA
     * adapter among them, the adapters one after another as PEFT applies them (see the class
     * comment); without active adapters the plain linear output.
     */
    @Override
    public Tensor forward(Tensor x, boolean training) {
        List<LoraAdapter> adapters = unmergedActive();
        if (adapters.isEmpty()) {
            return Functional.linear(x, base.weight(), base.bias(), base.isFanInFanOut());
        }
        for (LoraAdapter adapter : adapters) {
            if (adapter.isDora()) {
                return forwardInOrder(x, training, adapters);
            }
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

    /**
     * PEFT's loop over the active adapters in {@code lora.Linear.forward}: each adds its term to the
     * result so far, a DoRA adapter the term of {@code DoraLinearLayer.forward}.
     */
    private Tensor forwardInOrder(Tensor x, boolean training, List<LoraAdapter> adapters) {
        Parameter weight = base.weight();
        Parameter bias = base.bias();
        boolean inOut = base.isFanInFanOut();
        Tensor result = Functional.linear(x, weight, bias, inOut);
        for (LoraAdapter adapter : adapters) {
            double p = adapter.spec().dropout();
            boolean dropping = training && p > 0;
            Tensor input = dropping ? Functional.dropout(x, p, adapter.dropoutRandom()) : x;
            Tensor lora = Functional.loraDelta(input, adapter.a(), adapter.b(), adapter.scaling());
            if (!adapter.isDora()) {
                result = result.add(lora);
                continue;
            }
            // PEFT reuses the output so far, minus the bias, unless dropout changed the input
            Tensor baseOutput = dropping ? Functional.linear(input, weight, null, inOut)
                    : bias == null ? result : result.sub(bias);
            result = result.add(Functional.doraTerm(baseOutput, lora, adapter.magnitude(), doraWeightNorm(adapter)));
        }
        return result;
    }

    /** The adapted layer. */
    public Linear base() {
        return base;
    }
}
