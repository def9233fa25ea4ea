package dev.lora4j.autograd;

import dev.lora4j.autograd.internal.BackwardFunction;
import dev.lora4j.autograd.internal.Gemm;
import dev.lora4j.autograd.internal.Shapes;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A linear layer and its LoRA adapters as one operation:
 * {@code y = x·Wᵀ + b + Σᵢ sᵢ·(xᵢ·Aᵢᵀ)·Bᵢᵀ}, where {@code xᵢ} is x or a dropout of it. Each
 * adapter costs two thin GEMMs, the second accumulating straight into the base output ({@code beta
 * = 1}); backward adds x's gradient through the adapters into the base product's the same way, and
 * a frozen weight gets no gradient computed. With no adapters it is the plain linear layer ({@link
 * Functional#linear}), so both share one forward and one backward.
 *
 * <p>Forming the effective weight {@code W + Σᵢ sᵢ·Bᵢ·Aᵢ} for each call instead, so that output and
 * input gradient are one product each, was measured and taken out: neutral in the main job's step
 * (rounds alternating in one JVM: 1.004×), up to 1.4× slower for a layer in step memory and up to 11×
 * outside it (a 1024² layer on 64 rows: the weight's copy costs more than the thin products).
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
        INDArray w = weight.value();
        INDArray y = Gemm.linear(rows, w, bias == null ? null : bias.value(), !weightIsInOut);
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
            INDArray sum = x.requiresGrad() ? x.ownGradient() : null; // x's gradient so far, to add into
            INDArray dx = null;
            if (x.requiresGrad()) {
                if (sum != null) {
                    dx = Shapes.asRows(sum);
                    Gemm.into(gRows, w, dx, false, weightIsInOut, 1.0, 1.0);
                } else {
                    dx = Gemm.product(gRows, w, false, weightIsInOut);
                }
            }
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
                if (!inputNeedsGrad) {
                    continue;
                }
                if (inputs[i] == x) {
                    Gemm.into(gh, a[i].value(), dx, false, false, 1.0, 1.0);
                } else {
                    inputs[i].accumulateGradient(Gemm.product(gh, a[i].value(), false, false).reshape(inputs[i].shape()));
                }
            }
            if (dx != null && sum == null) {
                x.accumulateGradient(Shapes.reshape(dx, x.shape()));
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
        return Tensor.result(Shapes.reshape(y, Shapes.withLast(x.shape(), out)), step, all);
    }
}
