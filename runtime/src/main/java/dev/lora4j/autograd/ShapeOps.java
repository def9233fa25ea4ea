package dev.lora4j.autograd;

import dev.lora4j.autograd.internal.Shapes;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Reshape, permute and slice. Results are contiguous copies in C order where ND4J gives views. */
final class ShapeOps {

    private ShapeOps() {}

    static Tensor reshape(Tensor x, long... shape) {
        long[] original = x.shape();
        INDArray out = x.value().reshape('c', shape);
        return Tensor.result(out, g -> x.accumulateGradient(g.reshape('c', original)), x);
    }

    static Tensor permute(Tensor x, int... dimensions) {
        if (dimensions.length != x.rank()) {
            throw new IllegalArgumentException("permute needs " + x.rank() + " dimensions, got " + dimensions.length);
        }
        INDArray out = x.value().permute(dimensions).dup('c');
        int[] inverse = Shapes.invert(dimensions);
        return Tensor.result(out, g -> x.accumulateGradient(g.permute(inverse).dup('c')), x);
    }

    static Tensor narrow(Tensor x, int dimension, long start, long length) {
        int dim = dimension < 0 ? x.rank() + dimension : dimension;
        if (start < 0 || length < 0 || start + length > x.size(dim)) {
            throw new IllegalArgumentException("narrow [" + start + ", " + (start + length)
                    + ") is outside dimension " + dim + " of size " + x.size(dim));
        }
        INDArrayIndex[] index = intervalIndex(x.rank(), dim, start, length);
        INDArray out = x.value().get(index).dup('c');
        return Tensor.result(out, g -> {
            INDArray full = Nd4j.zeros(g.dataType(), x.shape());
            full.put(index, g);
            x.accumulateGradient(full);
        }, x);
    }

    private static INDArrayIndex[] intervalIndex(int rank, int dim, long start, long length) {
        INDArrayIndex[] index = new INDArrayIndex[rank];
        for (int i = 0; i < rank; i++) {
            index[i] = i == dim ? NDArrayIndex.interval(start, start + length) : NDArrayIndex.all();
        }
        return index;
    }
}
