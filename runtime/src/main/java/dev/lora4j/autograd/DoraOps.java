package dev.lora4j.autograd;

import dev.lora4j.autograd.internal.Shapes;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The output term of a DoRA adapter, as PEFT's {@code DoraLinearLayer.forward} computes it:
 * {@code (g − 1)·base + g·lora} with {@code g = m / ‖W + s·B·A‖} per output feature (the last
 * dimension). The weight norm is a constant here: PEFT detaches it (section 4.3 of the DoRA paper),
 * so no gradient flows through it; the magnitude {@code m} gets {@code Σ grad·(base + lora) / norm}.
 */
final class DoraOps {

    private DoraOps() {}

    static Tensor term(Tensor base, Tensor lora, Tensor magnitude, INDArray weightNorm) {
        long out = Shapes.last(base.shape());
        if (!Arrays.equals(base.shape(), lora.shape())) {
            throw new IllegalArgumentException("dora: the base output " + Arrays.toString(base.shape())
                    + " and the LoRA output " + Arrays.toString(lora.shape()) + " differ in shape");
        }
        if (magnitude.value().length() != out || weightNorm.length() != out) {
            throw new IllegalArgumentException("dora: the output has " + out + " features but the magnitude "
                    + Arrays.toString(magnitude.shape()) + " and the weight norm " + Arrays.toString(weightNorm.shape())
                    + " must have as many");
        }
        INDArray norm = weightNorm.reshape(out).castTo(magnitude.dataType());
        INDArray scale = magnitude.value().reshape(out).div(norm); // PEFT's mag_norm_scale
        INDArray scaleMinusOne = scale.sub(1.0);
        INDArray baseRows = Shapes.asRows(base.value());
        INDArray loraRows = Shapes.asRows(lora.value());
        INDArray y = baseRows.mulRowVector(scaleMinusOne).addi(loraRows.mulRowVector(scale));
        return Tensor.result(y.reshape(base.shape()), g -> {
            INDArray gRows = Shapes.asRows(g);
            if (base.requiresGrad()) {
                base.accumulateGradient(gRows.mulRowVector(scaleMinusOne).reshape(base.shape()));
            }
            if (lora.requiresGrad()) {
                lora.accumulateGradient(gRows.mulRowVector(scale).reshape(lora.shape()));
            }
            if (magnitude.requiresGrad()) {
                INDArray perFeature = gRows.mul(baseRows.add(loraRows)).sum(0).divi(norm);
                magnitude.accumulateGradient(perFeature.reshape(magnitude.shape()));
            }
        }, base, lora, magnitude);
    }
}
