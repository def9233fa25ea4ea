package dev.lora4j.autograd;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The output term of a DoRA adapter, as PEFT's {@code DoraLinearLayer.forward} (and its embedding
 * and convolution versions) computes it: {@code (g − 1)·base + g·lora} with {@code g = m / ‖W +
 * s·B·A‖} per output feature, the features along one axis of the output (the last for a linear
 * layer or an embedding, the channels for a convolution). The weight norm is a constant here: PEFT
 * detaches it (section 4.3 of the DoRA paper), so no gradient flows through it; the magnitude
 * {@code m} gets {@code Σ grad·(base + lora) / norm}, summed over every other axis.
 */
final class DoraOps {

    private DoraOps() {}

    static Tensor term(Tensor base, Tensor lora, Tensor magnitude, INDArray weightNorm, int featureAxis) {
        if (!Arrays.equals(base.shape(), lora.shape())) {
            throw new IllegalArgumentException("dora: the base output " + Arrays.toString(base.shape())
                    + " and the LoRA output " + Arrays.toString(lora.shape()) + " differ in shape");
        }
        if (featureAxis < 0 || featureAxis >= base.rank()) {
            throw new IllegalArgumentException("dora: feature axis " + featureAxis + " of an output of shape "
                    + Arrays.toString(base.shape()));
        }
        long out = base.size(featureAxis);
        if (magnitude.value().length() != out || weightNorm.length() != out) {
            throw new IllegalArgumentException("dora: the output has " + out + " features on axis " + featureAxis
                    + " but the magnitude " + Arrays.toString(magnitude.shape()) + " and the weight norm "
                    + Arrays.toString(weightNorm.shape()) + " must have as many");
        }
        INDArray norm = weightNorm.reshape(out).castTo(magnitude.dataType());
        INDArray scale = magnitude.value().reshape(out).div(norm); // PEFT's mag_norm_scale
        INDArray scaleMinusOne = scale.sub(1.0);
        INDArray y = along(base.value(), scaleMinusOne, featureAxis).addi(along(lora.value(), scale, featureAxis));
        return Tensor.result(y, g -> {
            if (base.requiresGrad()) {
                base.accumulateGradient(along(g, scaleMinusOne, featureAxis));
            }
            if (lora.requiresGrad()) {
                lora.accumulateGradient(along(g, scale, featureAxis));
            }
            if (magnitude.requiresGrad()) {
                INDArray perFeature = g.mul(base.value().add(lora.value())).sum(otherAxes(g.rank(), featureAxis));
                magnitude.accumulateGradient(perFeature.reshape(out).divi(norm).reshape(magnitude.shape()));
            }
        }, base, lora, magnitude);
    }

    /** {@code a} with each slice along {@code axis} multiplied by {@code factor[slice]}, as a new array. */
    private static INDArray along(INDArray a, INDArray factor, int axis) {
        INDArray out = Nd4j.createUninitialized(a.dataType(), a.shape());
        return Nd4j.getExecutioner().exec(new BroadcastMulOp(a, factor, out, axis));
    }

    private static int[] otherAxes(int rank, int axis) {
        int[] others = new int[rank - 1];
        for (int d = 0, k = 0; d < rank; d++) {
            if (d != axis) {
                others[k++] = d;
            }
        }
        return others;
    }
}
