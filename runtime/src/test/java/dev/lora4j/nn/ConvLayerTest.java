package dev.lora4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.ConvGeometry;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.testing.Float64;
import dev.lora4j.testing.GradientCheck;
import dev.lora4j.testing.NaiveConv;
import dev.lora4j.testing.TestArrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The vision layers as modules: gradient checks with respect to input and parameters in float64
 * (relative error below 1e-4), forward values against direct loops, PyTorch's initialisation and
 * names, and BatchNorm2d's choice of statistics.
 */
@ExtendWith(Float64.class)
class ConvLayerTest {

    @BeforeEach
    void seed() {
        Init.seed(11);
    }

    private static GradientCheck checkModule(UnaryModule module, Tensor x) {
        return GradientCheck.of(() -> module.forward(x)).input("x", x).inputs(((Module) module).namedParameters());
    }

    private static double maxAbsDiff(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue();
    }

    @Test
    void conv2dModule() {
        Conv2d conv = new Conv2d(4, 6, 3, 2, new ConvGeometry(2, 1, 1, 0, 1, 2, 2), true, new Random(1));
        assertArrayEquals(new long[] {6, 2, 3, 2}, conv.weight().shape(), "[out, in/groups, kh, kw]");
        assertEquals(4, conv.inChannels());
        assertEquals(6, conv.outChannels());
        Tensor x = Tensor.variable(TestArrays.normal(401, 2, 4, 7, 6));
        INDArray y = conv.forward(x).value();
        INDArray expected = NaiveConv.conv2d(x.value(), conv.weight().value(), conv.bias().value(), conv.geometry());
        assertTrue(maxAbsDiff(expected, y) < 1e-12);
        checkModule(conv, x).verify();
        assertEquals(Map.of("weight", conv.weight(), "bias", conv.bias()), conv.namedParameters());
        assertEquals("Conv2d(4 -> 6, 3x2, stride 2x1, padding 1x0, dilation 1x2, groups 2)", conv.toString());
    }

    @Test
    void conv2dInitialisesAsPyTorch() {
        Conv2d conv = new Conv2d(8, 16, 3, 3, ConvGeometry.of(1, 1), true, new Random(2));
        double bound = 1 / Math.sqrt(8 * 3 * 3);
        double weightMax = conv.weight().value().amaxNumber().doubleValue();
        double biasMax = conv.bias().value().amaxNumber().doubleValue();
        assertTrue(weightMax <= bound && weightMax > 0.95 * bound, "weight within ±1/√fanIn, got " + weightMax);
        assertTrue(biasMax <= bound, "bias within ±1/√fanIn");
        Conv2d noBias = new Conv2d(8, 16, 1, ConvGeometry.DEFAULT, false);
        assertNull(noBias.bias());
        assertThrows(IllegalArgumentException.class, () -> new Conv2d(6, 4, 3, ConvGeometry.of(1, 0, 1, 4), true));
    }

    @Test
    void poolingModules() {
        Tensor x = Tensor.variable(TestArrays.normal(402, 2, 3, 6, 6));
        MaxPool2d max = new MaxPool2d(2);
        assertArrayEquals(new long[] {2, 3, 3, 3}, max.forward(x).shape(), "stride defaults to the kernel");
        assertTrue(maxAbsDiff(NaiveConv.maxPool2d(x.value(), 2, 2, ConvGeometry.of(2, 0)), max.forward(x).value()) < 1e-12);
        checkModule(max, x).verify();
        AvgPool2d avg = new AvgPool2d(3, 2, 1);
        assertTrue(maxAbsDiff(NaiveConv.avgPool2d(x.value(), 3, 3, ConvGeometry.of(2, 1), true), avg.forward(x).value())
                < 1e-12);
        checkModule(avg, x).verify();
        assertTrue(max.namedParameters().isEmpty());
    }

    @Test
    void flattenKeepsTheBatch() {
        Tensor x = Tensor.variable(TestArrays.normal(403, 2, 3, 4, 5));
        Flatten flatten = new Flatten();
        assertArrayEquals(new long[] {2, 60}, flatten.forward(x).shape());
        assertEquals(x.value().getDouble(1, 2, 3, 4), flatten.forward(x).value().getDouble(1, 59), 0);
        checkModule(flatten, x).verify();
    }

    @Test
    void batchNormInTrainingUsesBatchStatisticsAndTracksThem() {
        BatchNorm2d bn = new BatchNorm2d(3);
        assertEquals(List.of("running_mean", "running_var", "num_batches_tracked"), List.copyOf(bn.namedBuffers().keySet()));
        INDArray x = TestArrays.normal(404, 4, 3, 5, 5).muli(2.0).addi(3.0);
        INDArray y = bn.forward(Tensor.constant(x)).value();
        for (int c = 0; c < 3; c++) {
            INDArray channel = y.get(all(), point(c), all(), all());
            assertEquals(0.0, channel.meanNumber().doubleValue(), 1e-12);
        }
        assertEquals(1, bn.batchesTracked());
        assertTrue(bn.runningMean().amaxNumber().doubleValue() > 0.1, "running mean moved towards the batch mean");
        bn.eval();
        INDArray before = bn.runningMean().dup();
        bn.forward(Tensor.constant(x));
        assertEquals(before, bn.runningMean(), "evaluation leaves the statistics alone");
        assertEquals(1, bn.batchesTracked());
    }

    @Test
    void frozenBatchNormUsesRunningStatisticsEvenInTraining() {
        BatchNorm2d bn = new BatchNorm2d(2);
        bn.runningMean().assign(TestArrays.normal(405, 2));
        bn.runningVar().assign(TestArrays.uniform(406, 0.5, 2, 2));
        bn.weight().value().assign(TestArrays.normal(407, 2));
        bn.bias().value().assign(TestArrays.normal(408, 2));
        INDArray x = TestArrays.normal(409, 3, 2, 4, 4);
        bn.eval();
        INDArray evaluation = bn.forward(Tensor.constant(x)).value();
        bn.train();
        bn.freeze();
        assertFalse(bn.usesBatchStatistics());
        INDArray mean = bn.runningMean().dup();
        INDArray frozen = bn.forward(Tensor.constant(x)).value();
        assertEquals(evaluation, frozen, "frozen in training mode = evaluation");
        assertEquals(mean, bn.runningMean());
        assertEquals(0, bn.batchesTracked());
        Tensor xv = Tensor.variable(x);
        GradientCheck.of(() -> bn.forward(xv)).input("x", xv).verify();
        assertNull(bn.weight().grad());
    }

    @Test
    void batchNormGradientsInBothModes() {
        BatchNorm2d bn = new BatchNorm2d(3);
        bn.weight().value().assign(TestArrays.normal(410, 3));
        bn.bias().value().assign(TestArrays.normal(411, 3));
        Tensor x = Tensor.variable(TestArrays.normal(412, 2, 3, 3, 4).muli(2.0));
        checkModule(bn, x).verify();
        bn.eval();
        bn.runningVar().assign(TestArrays.uniform(413, 0.5, 2, 3));
        checkModule(bn, x).verify();
    }

    /**
     * A small CNN end to end: conv → batch norm → ReLU → max pool → grouped conv → avg pool →
     * flatten → linear. The first conv has no bias: batch norm would remove it (its gradient is zero).
     */
    @Test
    void smallConvolutionalNetwork() {
        Sequential net = new Sequential(
                new Conv2d(2, 4, 3, 3, ConvGeometry.of(1, 1), false, new Random(3)),
                new BatchNorm2d(4),
                Activation.relu(),
                new MaxPool2d(2),
                new Conv2d(4, 4, 3, 3, ConvGeometry.of(1, 1, 1, 2), false, new Random(4)),
                new AvgPool2d(4),
                new Flatten(),
                new Linear(4, 3, true, new Random(5)));
        Tensor x = Tensor.variable(TestArrays.awayFromZero(414, 0.1, 2.0, 2, 2, 8, 8));
        GradientCheck.Result result = checkModule(net, x).verify();
        assertEquals(2 * 2 * 8 * 8 + 4 * 2 * 9 + 2 * 4 + 4 * 2 * 9 + (3 * 4 + 3), result.elements());
        assertEquals(List.of("layers.1.running_mean", "layers.1.running_var", "layers.1.num_batches_tracked"),
                List.copyOf(net.namedBuffers().keySet()));
        try (GradMode.Scope ignored = GradMode.disable()) {
            assertArrayEquals(new long[] {2, 3}, net.forward(Tensor.constant(x.value())).shape());
        }
        assertEquals(DataType.DOUBLE, net.namedParameters().get("layers.0.weight").dataType());
    }

    private static org.nd4j.linalg.indexing.INDArrayIndex all() {
        return org.nd4j.linalg.indexing.NDArrayIndex.all();
    }

    private static org.nd4j.linalg.indexing.INDArrayIndex point(long i) {
        return org.nd4j.linalg.indexing.NDArrayIndex.point(i);
    }
}
