package dev.lora4j.autograd;

import dev.lora4j.autograd.internal.OneDnnKernels;
import dev.lora4j.autograd.internal.Shapes;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Element-wise arithmetic with numpy broadcasting. */
final class ElementwiseOps {

    private ElementwiseOps() {}

    static Tensor add(Tensor a, Tensor b) {
        INDArray summed = OneDnnKernels.add(a.value(), b.value());
        INDArray out = summed != null ? summed : a.value().add(b.value());
        return Tensor.result(out, g -> {
            a.accumulateGradient(Shapes.unbroadcast(g, a.shape()));
            b.accumulateGradient(Shapes.unbroadcast(g, b.shape()));
        }, a, b);
    }

    static Tensor sub(Tensor a, Tensor b) {
        INDArray out = a.value().sub(b.value());
        return Tensor.result(out, g -> {
            a.accumulateGradient(Shapes.unbroadcast(g, a.shape()));
            if (b.requiresGrad()) {
                b.accumulateGradient(Shapes.unbroadcast(g.neg(), b.shape()));
            }
        }, a, b);
    }

    static Tensor mul(Tensor a, Tensor b) {
        INDArray out = a.value().mul(b.value());
        return Tensor.result(out, g -> {
            if (a.requiresGrad()) {
                a.accumulateGradient(Shapes.unbroadcast(g.mul(b.value()), a.shape()));
            }
            if (b.requiresGrad()) {
                b.accumulateGradient(Shapes.unbroadcast(g.mul(a.value()), b.shape()));
            }
        }, a, b);
    }

    static Tensor scale(Tensor a, double factor) {
        return Tensor.result(a.value().mul(factor), g -> a.accumulateGradient(g.mul(factor)), a);
    }

    static Tensor addConstant(Tensor a, double constant) {
        return Tensor.result(a.value().add(constant), a::accumulateGradient, a);
    }
}
