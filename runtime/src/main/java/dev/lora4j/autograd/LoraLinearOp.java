package dev.lora4j.autograd;

import dev.lora4j.autograd.internal.BackwardFunction;
import dev.lora4j.autograd.internal.Gemm;
import dev.lora4j.autograd.internal.Shapes;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A linear layer and its LoRA adapters as one operation:
 * {@code y = x·Wᵀ + b + Σᵢ sᵢ·(xᵢ·Aᵢᵀ)·Bᵢᵀ}, where {@code xᵢ} is x or a dropout of it. Each
 * adapter costs two thin GEMMs, the second accumulating straight into the base output
 * ({@code beta = 1}); ΔW is never formed, no temporary of the output's size is made, and a frozen
 * weight gets no gradient computed. With no adapters it is the plain linear layer
 * ({@link Functional#linear}), so both share one forward and one backward.
 */
final class LoraLinearOp {

    private LoraLinearOp() {}

    static Tensor apply(Tensor x, Tensor weight, Tensor bias, boolean weightIsInOut,
            Tensor[] inputs, Tensor[] a, Tensor[] b, double[] scaling) {
        long in = weightIsInOut ? weight.size(0) : weight.size(1);
        if (Shapes.last(x.shape()) != in) {
            throw new IllegalArgumentException("linear: input's last dimension is " + Shapes.last(x.shape())
                    + " but the weight " + Arrays.toString(weight.shape()) + " expects " + in);
        }
        int n = a.length;
        INDArray rows = Shapes.asRows(x.value());
        INDArray y = Gemm.linear(rows, weight.value(), bias == null ? null : bias.value(), !weightIsInOut);
        INDArray[] inputRows = new INDArray[n];
        INDArray[] hidden = new INDArray[n];
        for (int i = 0; i < n; i++) {
            inputRows[i] = inputs[i] == x ? rows : Shapes.asRows(inputs[i].value());
            hidden[i] = Gemm.product(inputRows[i], a[i].value(), false, true);
            Gemm.into(hidden[i], b[i].value(), y, false, true, scaling[i], 1.0);
        }
        long out = weightIsInOut ? weight.size(1) : weight.size(0);
        BackwardFunction step = g -> {
            INDArray gRows = Shapes.asRows(g);
            INDArray dx = x.requiresGrad() ? Gemm.product(gRows, weight.value(), false, weightIsInOut) : null;
            if (weight.requiresGrad()) {
                weight.accumulateGradient(weightIsInOut
                        ? Gemm.product(rows, gRows, true, false)
                        : Gemm.product(gRows, rows, true, false));
            }
            if (bias != null && bias.requiresGrad()) {
                bias.accumulateGradient(gRows.sum(0).reshape(bias.shape()));
            }
            for (int i = 0; i < n; i++) {
                if (b[i].requiresGrad()) {
                    b[i].accumulateGradient(Gemm.product(gRows, hidden[i], true, false).muli(scaling[i]));
                }
                boolean inputNeedsGrad = inputs[i] == x ? dx != null : inputs[i].requiresGrad();
                if (!a[i].requiresGrad() && !inputNeedsGrad) {
                    continue;
                }
                INDArray gh = Gemm.product(gRows, b[i].value(), false, false).muli(scaling[i]);
                if (a[i].requiresGrad()) {
                    a[i].accumulateGradient(Gemm.product(gh, inputRows[i], true, false));
                }
                if (inputs[i] == x && dx != null) {
                    Gemm.into(gh, a[i].value(), dx, false, false, 1.0, 1.0);
                } else if (inputs[i] != x && inputs[i].requiresGrad()) {
                    inputs[i].accumulateGradient(Gemm.product(gh, a[i].value(), false, false).reshape(inputs[i].shape()));
                }
            }
            if (dx != null) {
                x.accumulateGradient(dx.reshape(x.shape()));
            }
        };
        Tensor[] all = new Tensor[3 + 3 * n];
        int k = 0;
        all[k++] = x;
        all[k++] = weight;
        all[k++] = bias == null ? x : bias;
        for (int i = 0; i < n; i++) {
            all[k++] = inputs[i];
            all[k++] = a[i];
            all[k++] = b[i];
        }
        return Tensor.result(y.reshape(Shapes.withLast(x.shape(), out)), step, all);
    }
}
