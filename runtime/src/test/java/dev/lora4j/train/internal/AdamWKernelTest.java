package dev.lora4j.train.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

class AdamWKernelTest {

    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPSILON = 1e-8;

    /** AdamW's formula as whole-array ND4J operations, in the order {@code AdamW} runs them. */
    private static void wholeArrays(INDArray p, INDArray g, INDArray m, INDArray v, double lr, double wd, long t) {
        if (wd != 0) {
            p.muli(1.0 - lr * wd);
        }
        m.subi(g).muli(BETA1).addi(g);
        INDArray scratch = g.dup().muli(g);
        v.subi(scratch).muli(BETA2).addi(scratch);
        double bias1 = 1.0 - Math.pow(BETA1, t);
        double bias2 = 1.0 - Math.pow(BETA2, t);
        scratch.assign(v);
        Transforms.sqrt(scratch, false).divi(Math.sqrt(bias2)).addi(EPSILON);
        scratch.rdivi(m).muli(lr / bias1);
        p.subi(scratch);
    }

    @Test
    void aSinglePassUpdateIsTheWholeArrayUpdateBitForBit() {
        // first run the kernel often enough for the JIT to compile (and vectorize) its loops, so
        // that the compiled code is what the comparison below checks, not only the interpreter's
        INDArray[] warm = {Nd4j.rand(DataType.FLOAT, 3087), Nd4j.rand(DataType.FLOAT, 3087),
                Nd4j.zeros(DataType.FLOAT, 3087), Nd4j.zeros(DataType.FLOAT, 3087)};
        for (int i = 0; i < 3000; i++) {
            AdamWKernel.update(warm[0], warm[1], warm[2], warm[3], 0.99, BETA1, BETA2, 0.5, EPSILON, 1e-3);
        }
        Nd4j.getRandom().setSeed(7);
        // 3 087 elements: three of the kernel's chunks of 1 024, the last one partial
        INDArray p = Nd4j.randn(DataType.FLOAT, 3, 1029);
        INDArray m = Nd4j.zeros(DataType.FLOAT, 3, 1029);
        INDArray v = Nd4j.zeros(DataType.FLOAT, 3, 1029);
        INDArray p2 = p.dup();
        INDArray m2 = m.dup();
        INDArray v2 = v.dup();
        for (long t = 1; t <= 20; t++) {
            // gradients of very different sizes, with zeros, so that ε and the corrections matter
            INDArray g = Nd4j.randn(DataType.FLOAT, 3, 1029).muli(Math.pow(10, (t % 7) - 4));
            g.get(NDArrayIndex.point(1), NDArrayIndex.interval(0, 10)).assign(0);
            double lr = 1e-3 * (1 + t % 3);
            double wd = t % 2 == 0 ? 0.01 : 0.0;
            wholeArrays(p, g, m, v, lr, wd, t);
            double bias1 = 1.0 - Math.pow(BETA1, t);
            double bias2 = 1.0 - Math.pow(BETA2, t);
            assertTrue(AdamWKernel.update(p2, g, m2, v2, 1.0 - lr * wd, BETA1, BETA2, Math.sqrt(bias2), EPSILON,
                    lr / bias1));
            assertArrayEquals(p.data().asFloat(), p2.data().asFloat(), 0f, "weights after step " + t);
            assertArrayEquals(m.data().asFloat(), m2.data().asFloat(), 0f, "exp_avg after step " + t);
            assertArrayEquals(v.data().asFloat(), v2.data().asFloat(), 0f, "exp_avg_sq after step " + t);
        }
    }

    @Test
    void declinesWhatItCannotWalkAndLeavesItUntouched() {
        INDArray p = Nd4j.ones(DataType.DOUBLE, 4);
        INDArray g = Nd4j.ones(DataType.DOUBLE, 4);
        assertFalse(AdamWKernel.update(p, g, Nd4j.zeros(DataType.DOUBLE, 4), Nd4j.zeros(DataType.DOUBLE, 4), 1, BETA1,
                BETA2, 1, EPSILON, 1e-3));
        INDArray wide = Nd4j.ones(DataType.FLOAT, 4, 4);
        INDArray column = wide.getColumn(1);
        assertFalse(AdamWKernel.update(column, Nd4j.ones(DataType.FLOAT, 4), Nd4j.zeros(DataType.FLOAT, 4),
                Nd4j.zeros(DataType.FLOAT, 4), 1, BETA1, BETA2, 1, EPSILON, 1e-3));
        assertArrayEquals(new double[] {1, 1, 1, 1}, p.toDoubleVector(), 0);
        assertArrayEquals(new float[16], wide.sub(1).reshape(16).toFloatVector(), 0f);
    }
}
