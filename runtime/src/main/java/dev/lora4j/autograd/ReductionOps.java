package dev.lora4j.autograd;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Sums and means. */
final class ReductionOps {

    private ReductionOps() {}

    static Tensor sum(Tensor x) {
        INDArray out = Nd4j.scalar(x.dataType(), x.value().sumNumber().doubleValue());
        return Tensor.result(out, g -> x.accumulateGradient(Nd4j.valueArrayOf(x.shape(), g.getDouble(0), x.dataType())), x);
    }

    static Tensor mean(Tensor x) {
        long n = x.value().length();
        INDArray out = Nd4j.scalar(x.dataType(), x.value().sumNumber().doubleValue() / n);
        return Tensor.result(out,
                g -> x.accumulateGradient(Nd4j.valueArrayOf(x.shape(), g.getDouble(0) / n, x.dataType())), x);
    }

    static Tensor sum(Tensor x, int dimension) {
        return reduceAlong(x, dimension, 1.0);
    }

    static Tensor mean(Tensor x, int dimension) {
        int dim = dimension < 0 ? x.rank() + dimension : dimension;
        return reduceAlong(x, dim, 1.0 / x.size(dim));
    }

    private static Tensor reduceAlong(Tensor x, int dimension, double factor) {
        int dim = dimension < 0 ? x.rank() + dimension : dimension;
        INDArray out = x.value().sum(dim).muli(factor);
        long[] kept = x.shape().clone();
        kept[dim] = 1;
        return Tensor.result(out, g -> {
            INDArray expanded = Nd4j.zeros(x.dataType(), x.shape()).addi(g.reshape(kept)).muli(factor);
            x.accumulateGradient(expanded);
        }, x);
    }
}
