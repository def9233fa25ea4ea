package dev.lora4j.autograd;

import dev.lora4j.autograd.internal.GeluKernel;
import dev.lora4j.autograd.internal.OneDnnKernels;
import dev.lora4j.autograd.internal.Shapes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/** Element-wise non-linearities. */
final class ActivationOps {

    private static final double INV_SQRT2 = 1.0 / Math.sqrt(2.0);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2.0 * Math.PI);

    private ActivationOps() {}

    static Tensor relu(Tensor x) {
        INDArray out = Transforms.relu(x.value(), true);
        return Tensor.result(out, g -> {
            INDArray positive = x.value().gt(0.0).castTo(g.dataType());
            x.accumulateGradient(g.mul(positive));
        }, x);
    }

    /**
     * x·Φ(x) with the exact (erf) Φ: in float64 with ND4J's erf for float64 input, otherwise in
     * float32 by oneDNN's GELU primitive ({@link OneDnnKernels}), or {@link GeluKernel} where oneDNN
     * is not used (half-precision input computed in float32, the results rounded back).
     */
    static Tensor gelu(Tensor x) {
        if (x.dataType() == DataType.DOUBLE) {
            return geluInDouble(x);
        }
        INDArray v = Functional.as(x.value(), DataType.FLOAT);
        INDArray out = Nd4j.createUninitialized(DataType.FLOAT, v.shape());
        if (!OneDnnKernels.geluForward(v, out)) {
            GeluKernel.forward(v, out);
        }
        return Tensor.result(Functional.as(out, x.dataType()), g -> {
            INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, v.shape());
            INDArray gFloat = Functional.as(g, DataType.FLOAT);
            if (!OneDnnKernels.geluBackward(v, Shapes.plain(gFloat), dx)) {
                GeluKernel.backward(v, gFloat, dx);
            }
            x.accumulateGradient(Functional.as(dx, x.dataType()));
        }, x);
    }

    private static Tensor geluInDouble(Tensor x) {
        INDArray v = x.value();
        // Φ(x) = 0.5·(1 + erf(x/√2))
        INDArray cdf = Nd4j.exec(new Erf(v.mul(INV_SQRT2))).addi(1.0).muli(0.5);
        INDArray out = v.mul(cdf);
        return Tensor.result(out, g -> {
            // d/dx x·Φ(x) = Φ(x) + x·φ(x), φ(x) = exp(-x²/2)/√(2π)
            INDArray pdf = Transforms.exp(v.mul(v).muli(-0.5), false).muli(INV_SQRT_2PI);
            INDArray derivative = pdf.muli(v).addi(cdf);
            x.accumulateGradient(derivative.muli(g));
        }, x);
    }

    static Tensor tanh(Tensor x) {
        INDArray out = Transforms.tanh(x.value(), true);
        return Tensor.result(out, g -> {
            INDArray derivative = out.mul(out).rsubi(1.0);
            x.accumulateGradient(derivative.muli(g));
        }, x);
    }

    static Tensor exp(Tensor x) {
        INDArray out = Transforms.exp(x.value(), true);
        return Tensor.result(out, g -> x.accumulateGradient(g.mul(out)), x);
    }
}
