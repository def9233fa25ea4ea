package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.LoraInit;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Parameter;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class LoraLinearTest {

    private static final Random RANDOM = new Random(7);

    private static INDArray randn(DataType type, long... shape) {
        return Nd4j.randn(new Random(shape.length + shape[0]).nextLong(), shape).castTo(type);
    }

    @Test
    void zeroBGivesExactlyTheBaseOutput() {
        Linear layer = new Linear(16, 12, true, new Random(1));
        Tensor x = Tensor.constant(randn(DataType.FLOAT, 5, 16));
        INDArray before = layer.forward(x).value().dup();
        LoraLayers.attach(layer).addAdapter("default", new AdapterSettings(4, 8, 0, false, LoraInit.KAIMING_UNIFORM), RANDOM);
        INDArray after = layer.forward(x).value();
        assertEquals(before, after, "B = 0 must leave the output bitwise unchanged");
        LoraAdapter adapter = LoraLayers.of(layer).adapter("default");
        assertEquals(0.0, adapter.b().value().norm1Number().doubleValue(), "B starts at zero");
        assertTrue(adapter.a().value().norm1Number().doubleValue() > 0, "A starts random");
    }

    @Test
    void forwardIsBasePlusScaledLowRankUpdate() {
        // float64 and an independent triple loop: y = x·Wᵀ + b + (alpha/r)·x·Aᵀ·Bᵀ
        Linear layer = Linear.of(randn(DataType.DOUBLE, 6, 5), randn(DataType.DOUBLE, 6));
        AdapterSettings spec = new AdapterSettings(3, 6, 0, false, LoraInit.RANDOM);
        LoraAdapter adapter = LoraLayers.attach(layer).addAdapter("default", spec, new Random(3));
        INDArray x = randn(DataType.DOUBLE, 4, 5);
        INDArray y = layer.forward(Tensor.constant(x)).value();
        double[][] w = layer.weight().value().toDoubleMatrix();
        double[] b = layer.bias().value().toDoubleVector();
        double[][] a = adapter.a().value().castTo(DataType.DOUBLE).toDoubleMatrix();
        double[][] bb = adapter.b().value().castTo(DataType.DOUBLE).toDoubleMatrix();
        double s = 6.0 / 3.0;
        for (int n = 0; n < 4; n++) {
            for (int o = 0; o < 6; o++) {
                double expected = b[o];
                for (int i = 0; i < 5; i++) {
                    expected += x.getDouble(n, i) * w[o][i];
                }
                for (int k = 0; k < 3; k++) {
                    double h = 0;
                    for (int i = 0; i < 5; i++) {
                        h += x.getDouble(n, i) * a[k][i];
                    }
                    expected += s * h * bb[o][k];
                }
                assertEquals(expected, y.getDouble(n, o), 1e-12, "y[" + n + "," + o + "]");
            }
        }
    }

    @Test
    void rsloraScalesByAlphaOverSqrtRank() {
        assertEquals(16 / Math.sqrt(4), new AdapterSettings(4, 16, 0, true, LoraInit.KAIMING_UNIFORM).scaling(), 1e-15);
        assertEquals(16 / 4.0, new AdapterSettings(4, 16, 0, false, LoraInit.KAIMING_UNIFORM).scaling(), 1e-15);
    }

    @Test
    void kaimingInitBoundsAndGaussianInit() {
        Linear layer = new Linear(100, 50, true, new Random(1));
        LoraAdapter k = LoraLayers.attach(layer).addAdapter("k", new AdapterSettings(8, 8, 0, false, LoraInit.KAIMING_UNIFORM), new Random(2));
        assertArrayEquals(new long[] {8, 100}, k.a().shape());
        assertArrayEquals(new long[] {50, 8}, k.b().shape());
        double bound = 1 / Math.sqrt(100);
        assertTrue(k.a().value().amaxNumber().doubleValue() <= bound, "A within ±1/√in");
        assertTrue(k.a().value().amaxNumber().doubleValue() > 0.9 * bound, "A fills the range");
        LoraAdapter g = LoraLayers.of(layer).addAdapter("g", new AdapterSettings(8, 8, 0, false, LoraInit.GAUSSIAN), new Random(3));
        double std = g.a().value().castTo(DataType.DOUBLE).stdNumber().doubleValue();
        assertEquals(1.0 / 8, std, 0.01, "gaussian A has std 1/r (800 samples, tolerance 0.01)");
        assertEquals(0.0, g.b().value().norm1Number().doubleValue());
    }

    @Test
    void mergedAndUnmergedOutputsAgreeAndUnmergeRestoresWeights() {
        Linear layer = new Linear(64, 48, true, new Random(5));
        INDArray original = layer.weight().value().dup();
        LoraLinear lora = LoraLayers.attach(layer);
        lora.addAdapter("default", new AdapterSettings(8, 16, 0, false, LoraInit.RANDOM), new Random(6));
        Tensor x = Tensor.constant(randn(DataType.FLOAT, 10, 64));
        INDArray unmerged = layer.forward(x).value().dup();
        lora.merge(List.of("default"));
        assertEquals(java.util.Set.of("default"), lora.merged());
        INDArray merged = layer.forward(x).value().dup();
        assertTrue(maxAbsDiff(unmerged, merged) < 1e-5, "merged vs unmerged max abs diff " + maxAbsDiff(unmerged, merged));
        assertTrue(maxAbsDiff(original, layer.weight().value()) > 1e-3, "merging changed W");
        lora.unmerge(List.of("default"));
        assertTrue(maxAbsDiff(original, layer.weight().value()) < 1e-6,
                "unmerge restores W, max abs diff " + maxAbsDiff(original, layer.weight().value()));
        assertTrue(maxAbsDiff(unmerged, layer.forward(x).value()) < 1e-5);
    }

    @Test
    void fanInFanOutLayerMergesTheTransposedUpdate() {
        INDArray wInOut = randn(DataType.DOUBLE, 7, 9); // [in, out]
        Linear layer = new Linear(new Parameter(wInOut.dup()), null, true);
        assertEquals(7, layer.inFeatures());
        assertEquals(9, layer.outFeatures());
        LoraAdapter adapter = LoraLayers.attach(layer).addAdapter("default", new AdapterSettings(2, 4, 0, false, LoraInit.RANDOM), new Random(9));
        assertArrayEquals(new long[] {2, 7}, adapter.a().shape(), "A is [r, in]");
        assertArrayEquals(new long[] {9, 2}, adapter.b().shape(), "B is [out, r]");
        Tensor x = Tensor.constant(randn(DataType.DOUBLE, 3, 7));
        INDArray unmerged = layer.forward(x).value().dup();
        LoraLayers.of(layer).merge(List.of("default"));
        INDArray expected = wInOut.add(adapter.b().value().mmul(adapter.a().value()).transpose().mul(2.0));
        assertTrue(maxAbsDiff(expected, layer.weight().value()) < 1e-12);
        assertTrue(maxAbsDiff(unmerged, layer.forward(x).value()) < 1e-12);
    }

    @Test
    void onlyTheAdapterFactorsReceiveGradients() {
        Linear layer = new Linear(8, 4, true, new Random(1));
        layer.freeze();
        LoraAdapter adapter = LoraLayers.attach(layer).addAdapter("default", new AdapterSettings(2, 2, 0, false, LoraInit.RANDOM), new Random(2));
        layer.forward(Tensor.constant(randn(DataType.FLOAT, 3, 8))).sum().backward();
        assertNull(layer.weight().grad(), "frozen weight has no gradient buffer");
        assertNull(layer.bias().grad(), "frozen bias has no gradient buffer");
        assertNotNull(adapter.a().grad());
        assertNotNull(adapter.b().grad());
    }

    @Test
    void dropoutActsOnTheInputOnlyInTraining() {
        Linear layer = new Linear(32, 16, true, new Random(1));
        LoraLayers.attach(layer).addAdapter("default", new AdapterSettings(4, 4, 0.5, false, LoraInit.RANDOM), new Random(2));
        Tensor x = Tensor.constant(randn(DataType.FLOAT, 6, 32));
        layer.eval();
        INDArray eval1 = layer.forward(x).value().dup();
        INDArray eval2 = layer.forward(x).value().dup();
        assertEquals(eval1, eval2, "no dropout in eval mode");
        layer.train();
        INDArray train = layer.forward(x).value();
        assertNotEquals(eval1, train, "dropout changes the adapter path in training");
        // the base path is untouched by dropout: with the adapter disabled, training output equals eval output
        LoraLayers.of(layer).setDisabled(true);
        assertEquals(layer.forward(x).value(), Linear.of(layer.weight().value(), layer.bias().value()).forward(x).value());
    }

    @Test
    void disabledAndInactiveAdaptersLeaveTheBaseOutput() {
        Linear layer = new Linear(8, 8, true, new Random(1));
        Tensor x = Tensor.constant(randn(DataType.FLOAT, 2, 8));
        INDArray base = layer.forward(x).value().dup();
        LoraLinear lora = LoraLayers.attach(layer);
        lora.addAdapter("a", new AdapterSettings(2, 2, 0, false, LoraInit.RANDOM), new Random(2));
        lora.addAdapter("b", new AdapterSettings(4, 4, 0, false, LoraInit.RANDOM), new Random(3));
        assertEquals(List.of("a"), lora.active());
        assertNotEquals(base, layer.forward(x).value());
        lora.setDisabled(true);
        assertEquals(base, layer.forward(x).value());
        lora.setDisabled(false);
        lora.setActive(List.of("b"));
        assertTrue(lora.adapter("b").a().isTrainable());
        assertTrue(!lora.adapter("a").a().isTrainable(), "inactive adapters are frozen");
        lora.deleteAdapter("b");
        assertEquals(List.of(), lora.active());
        assertEquals(base, layer.forward(x).value());
    }

    static double maxAbsDiff(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }
}
