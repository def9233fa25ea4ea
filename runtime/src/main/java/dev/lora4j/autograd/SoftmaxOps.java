package dev.lora4j.autograd;

import dev.lora4j.autograd.internal.OneDnnKernels;
import dev.lora4j.autograd.internal.Shapes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Softmax and log-softmax over the last dimension, computed stably (max subtracted); float32 softmax
 * forward and backward by oneDNN's primitives where oneDNN is used ({@link OneDnnKernels}).
 */
final class SoftmaxOps {

    private SoftmaxOps() {}

    /** Softmax of each row of a matrix; a new array. */
    static INDArray softmaxRows(INDArray rows) {
        if (rows.dataType() == DataType.FLOAT) {
            INDArray y = Nd4j.createUninitialized(DataType.FLOAT, rows.shape());
            if (OneDnnKernels.softmaxForward(Shapes.plain(rows), y)) {
                return y;
            }
        }
        return normaliseShifted(rows.subColumnVector(rows.max(1)));
    }

    /** Softmax of rows from which each row's maximum was subtracted, computed in that array. */
    private static INDArray normaliseShifted(INDArray shifted) {
        INDArray e = Transforms.exp(shifted, false);
        return e.diviColumnVector(e.sum(1));
    }

    /**
     * The gradient of the rows' softmax {@code y} for the output gradient {@code gy}:
     * {@code y ⊙ (gy − Σ gy ⊙ y)}; a new array.
     */
    static INDArray softmaxGradient(INDArray gy, INDArray y) {
        if (y.dataType() == DataType.FLOAT && gy.dataType() == DataType.FLOAT) {
            INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, y.shape());
            if (OneDnnKernels.softmaxBackward(y, Shapes.plain(gy), dx)) {
                return dx;
            }
        }
        INDArray dot = gy.mul(y).sum(1);
        return gy.subColumnVector(dot).muli(y);
    }

    /**
     * {@link #softmaxGradient} written over {@code gy} itself, which must be a plain array nothing
     * else reads (a fresh product, as attention's probability gradient is); returns it.
     */
    static INDArray softmaxGradientInPlace(INDArray gy, INDArray y) {
        if (y.dataType() == DataType.FLOAT && gy.dataType() == DataType.FLOAT
                && OneDnnKernels.softmaxBackward(y, gy, gy)) {
            return gy;
        }
        INDArray dot = gy.mul(y).sum(1);
        return gy.subiColumnVector(dot).muli(y);
    }

    /** Log-softmax of each row of a matrix; a new array. */
    static INDArray logSoftmaxRows(INDArray rows) {
        INDArray shifted = rows.subColumnVector(rows.max(1));
        INDArray logSum = Transforms.log(Transforms.exp(shifted, true).sum(1), false);
        return shifted.subiColumnVector(logSum);
    }

    static Tensor softmax(Tensor x) {
        long[] shape = x.shape();
        INDArray y = softmaxRows(Shapes.asRows(x.value()));
        return Tensor.result(y.reshape(shape),
                g -> x.accumulateGradient(softmaxGradient(Shapes.asRows(g), y).reshape(shape)), x);
    }

    /**
     * {@code softmax(scale·x + Σ masks)} over the last dimension, computed in x's own array: x must
     * be a fresh product that nothing else reads (its backward must not need its value), as
     * attention's scores are. One array of the scores' size forward instead of four.
     *
     * @param masks additive masks broadcast to x's shape
     */
    static Tensor scaledMaskedSoftmaxInPlace(Tensor x, double scale, INDArray... masks) {
        long[] shape = x.shape();
        INDArray y = scaledMaskedSoftmaxRowsInPlace(x.value(), scale, masks);
        return Tensor.result(y.reshape(shape), g -> {
            INDArray dx = softmaxGradient(Shapes.asRows(g), y); // then times the scale
            x.accumulateGradient((scale == 1.0 ? dx : dx.muli(scale)).reshape(shape));
        }, x);
    }

    /**
     * {@code softmax(scale·scores + Σ masks)} over the last dimension, in the scores' own array
     * (plain, c-ordered); returns it as rows.
     */
    static INDArray scaledMaskedSoftmaxRowsInPlace(INDArray scores, double scale, INDArray... masks) {
        if (scale != 1.0) {
            scores.muli(scale);
        }
        for (INDArray mask : masks) {
            if (!OneDnnKernels.addInPlace(scores, mask)) {
                scores.addi(mask);
            }
        }
        INDArray rows = Shapes.asRows(scores);
        if (rows.dataType() == DataType.FLOAT && OneDnnKernels.softmaxForward(rows, rows)) {
            return rows;
        }
        return normaliseShifted(rows.subiColumnVector(rows.max(1)));
    }

    static Tensor logSoftmax(Tensor x) {
        long[] shape = x.shape();
        INDArray y = logSoftmaxRows(Shapes.asRows(x.value()));
        return Tensor.result(y.reshape(shape), g -> {
            INDArray gy = Shapes.asRows(g);
            INDArray p = Transforms.exp(y, true);
            INDArray dx = gy.sub(p.muliColumnVector(gy.sum(1)));
            x.accumulateGradient(dx.reshape(shape));
        }, x);
    }
}
