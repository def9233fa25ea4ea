package dev.lora4j.autograd;

import dev.lora4j.autograd.internal.BackwardFunction;
import dev.lora4j.autograd.internal.Gemm;
import dev.lora4j.autograd.internal.Shapes;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A linear layer and its LoRA adapters as one operation:
 * {@code y = x·Wᵀ + b + Σᵢ sᵢ·(xᵢ·Aᵢᵀ)·Bᵢᵀ}, where {@code xᵢ} is x or a dropout of it. When
 * every adapter reads x itself (no adapter dropout) and all operands have x's type, the output and
 * the input's gradient are each one product with the effective weight {@code W + Σᵢ sᵢ·Bᵢ·Aᵢ},
 * formed for the call (a weight's size, small next to the activations); otherwise each adapter
 * costs two thin GEMMs, the second accumulating straight into the base output ({@code beta = 1}).
 * The adapters' gradients come from their thin products either way, and a frozen weight gets no
 * gradient computed. With no adapters it is the plain linear layer ({@link Functional#linear}), so
 * both share one forward and one backward.
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
        INDArray effective = foldsIntoWeight(x, weight, inputs, a, b)
                ? effectiveWeight(weight.value(), a, b, scaling, weightIsInOut)
                : null;
        INDArray multiplied = effective != null ? effective : weight.value(); // what x is multiplied by
        INDArray y = Gemm.linear(rows, multiplied, bias == null ? null : bias.value(), !weightIsInOut);
        INDArray[] inputRows = new INDArray[n];
        INDArray[] hidden = new INDArray[n];
        for (int i = 0; i < n; i++) {
            inputRows[i] = inputs[i] == x ? rows : Shapes.asRows(inputs[i].value());
            if (effective == null || b[i].requiresGrad()) {
                hidden[i] = Gemm.product(inputRows[i], a[i].value(), false, true);
            }
            if (effective == null) {
                Gemm.into(hidden[i], b[i].value(), y, false, true, scaling[i], 1.0);
            }
        }
        long out = weightIsInOut ? weight.size(1) : weight.size(0);
        BackwardFunction step = g -> {
            INDArray gRows = Shapes.asRows(g);
            INDArray sum = x.requiresGrad() ? x.ownGradient() : null; // x's gradient so far, to add into
            INDArray dx = null;
            if (x.requiresGrad()) {
                if (sum != null) {
                    dx = Shapes.asRows(sum);
                    Gemm.into(gRows, multiplied, dx, false, weightIsInOut, 1.0, 1.0);
                } else {
                    dx = Gemm.product(gRows, multiplied, false, weightIsInOut);
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
                // with the effective weight, x's gradient through the adapter is in dx already
                boolean inputNeedsGrad = effective == null
                        && (inputs[i] == x ? dx != null : inputs[i].requiresGrad());
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

    /**
     * Whether the adapters fold into one effective weight: there is at least one, every one reads x
     * itself (no adapter dropout), and weight and factors have x's type.
     */
    private static boolean foldsIntoWeight(Tensor x, Tensor weight, Tensor[] inputs, Tensor[] a, Tensor[] b) {
        DataType type = x.value().dataType();
        boolean folds = a.length > 0 && weight.value().dataType() == type;
        for (int i = 0; i < a.length; i++) {
            folds &= inputs[i] == x && a[i].value().dataType() == type && b[i].value().dataType() == type;
        }
        return folds;
    }

    /**
     * {@code W + Σᵢ sᵢ·Bᵢ·Aᵢ} in W's layout (for a weight stored {@code [in, out]}, {@code W + Σᵢ
     * sᵢ·Aᵢᵀ·Bᵢᵀ}), a new array: the layer's output is then one product, and so is its input's
     * gradient, instead of one plus two thin products per adapter that each read and write the whole
     * output (or input gradient) again. The adapters' own gradients still use their thin products.
     */
    private static INDArray effectiveWeight(INDArray weight, Tensor[] a, Tensor[] b, double[] scaling,
            boolean weightIsInOut) {
        INDArray effective = weight.dup('c');
        for (int i = 0; i < a.length; i++) {
            if (weightIsInOut) {
                Gemm.into(a[i].value(), b[i].value(), effective, true, true, scaling[i], 1.0);
            } else {
                Gemm.into(b[i].value(), a[i].value(), effective, false, false, scaling[i], 1.0);
            }
        }
        return effective;
    }
}
