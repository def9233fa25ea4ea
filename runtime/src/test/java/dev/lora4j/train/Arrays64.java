package dev.lora4j.train;

import dev.lora4j.nn.Parameter;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Small float64 helpers for the optimizer tests. */
final class Arrays64 {

    private Arrays64() {}

    static Parameter param(double... values) {
        return new Parameter(Nd4j.createFromArray(values));
    }

    static Parameter frozen(double... values) {
        return new Parameter(Nd4j.createFromArray(values), false);
    }

    static Parameter matrix(int rows, int cols, double fill) {
        return new Parameter(Nd4j.valueArrayOf(new long[] {rows, cols}, fill, org.nd4j.linalg.api.buffer.DataType.DOUBLE));
    }

    static void grad(Parameter p, double... values) {
        p.restoreGrad(Nd4j.createFromArray(values));
    }

    static double[] values(Parameter p) {
        return p.value().dup().data().asDouble();
    }

    /** Equal bit for bit (after widening to double, which is exact for float32). */
    static boolean bitwiseEqual(INDArray a, INDArray b) {
        return a.dataType() == b.dataType()
                && Arrays.equals(a.shape(), b.shape())
                && Arrays.equals(a.dup().data().asDouble(), b.dup().data().asDouble());
    }
}
