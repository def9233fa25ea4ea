package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.LoraInit;
import dev.lora4j.autograd.ConvGeometry;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Conv2d;
import dev.lora4j.nn.internal.AdapterAttachments;
import dev.lora4j.testing.GradientCheck;
import dev.lora4j.testing.NaiveConv;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * LoRA on Conv2d as PEFT's {@code lora.Conv2d}: factor shapes, initialisation, the forward update
 * against direct loops, merge = unmerged (float32, max abs diff below 1e-5), the merged kernel
 * against PEFT's {@code get_delta_weight} formulas, grouped convolutions, and gradients.
 */
class LoraConv2dTest {

    private static INDArray randn(DataType type, long seed, long... shape) {
        return Nd4j.randn(seed, shape).castTo(type);
    }

    private static double maxAbsDiff(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }

    private static Conv2d conv(DataType type, long in, long out, int k, ConvGeometry g, long seed) {
        return Conv2d.of(randn(type, seed, out, in / g.groups(), k, k).muli(0.2), randn(type, seed + 1, out), g);
    }

    @Test
    void factorsHavePeftShapesAndInitialisation() {
        Conv2d layer = conv(DataType.FLOAT, 6, 10, 3, ConvGeometry.of(2, 1), 1);
        LoraAdapter adapter = LoraLayers.attach(layer).addAdapter("default",
                new AdapterSettings(4, 8, 0, false, LoraInit.KAIMING_UNIFORM), new Random(2));
        assertArrayEquals(new long[] {4, 6, 3, 3}, adapter.a().shape(), "lora_A [r, in, kh, kw]");
        assertArrayEquals(new long[] {10, 4, 1, 1}, adapter.b().shape(), "lora_B [out, r, 1, 1]");
        double bound = 1 / Math.sqrt(6 * 3 * 3);
        double aMax = adapter.a().value().amaxNumber().doubleValue();
        assertTrue(aMax <= bound && aMax > 0.9 * bound, "A Kaiming-uniform ±1/√(in·kh·kw), max " + aMax);
        assertEquals(0.0, adapter.b().value().norm1Number().doubleValue(), "B starts at zero");
        assertEquals(List.of("weight", "bias", "lora_A.default.weight", "lora_B.default.weight"),
                List.copyOf(layer.namedParameters().keySet()));
        assertEquals(2.0, adapter.scaling());
    }

    @Test
    void zeroBGivesExactlyTheBaseOutput() {
        Conv2d layer = conv(DataType.FLOAT, 3, 5, 3, ConvGeometry.of(1, 1), 3);
        Tensor x = Tensor.constant(randn(DataType.FLOAT, 4, 2, 3, 8, 8));
        INDArray before = layer.forward(x).value().dup();
        LoraLayers.attach(layer).addAdapter("default", new AdapterSettings(2, 4, 0, false, LoraInit.KAIMING_UNIFORM), new Random(5));
        assertEquals(before, layer.forward(x).value());
    }

    /** in, out, kernel, stride, padding, dilation. */
    static Stream<Arguments> geometries() {
        return Stream.of(
                Arguments.of(4, 6, 3, 1, 1, 1),
                Arguments.of(4, 6, 3, 2, 1, 1),
                Arguments.of(3, 8, 5, 1, 2, 1),
                Arguments.of(4, 6, 3, 1, 2, 2),
                Arguments.of(5, 7, 1, 1, 0, 1),
                Arguments.of(5, 7, 1, 2, 0, 1));
    }

    @ParameterizedTest(name = "{0}->{1} k{2} s{3} p{4} d{5}")
    @MethodSource("geometries")
    void forwardIsBasePlusScaledBofA(int in, int out, int k, int stride, int padding, int dilation) {
        ConvGeometry g = ConvGeometry.of(stride, padding, dilation, 1);
        Conv2d layer = conv(DataType.DOUBLE, in, out, k, g, 10L * k + stride);
        LoraAdapter adapter = LoraLayers.attach(layer).addAdapter("default",
                new AdapterSettings(3, 6, 0, false, LoraInit.RANDOM), new Random(7));
        INDArray x = randn(DataType.DOUBLE, 8, 2, in, 9, 9);
        INDArray y = layer.forward(Tensor.constant(x)).value();
        INDArray base = NaiveConv.conv2d(x, layer.weight().value(), layer.bias().value(), g);
        INDArray h = NaiveConv.conv2d(x, adapter.a().value(), null, g);
        INDArray update = NaiveConv.conv2d(h, adapter.b().value(), null, ConvGeometry.DEFAULT).muli(2.0);
        assertTrue(maxAbsDiff(base.add(update), y) < 1e-12, "max abs diff " + maxAbsDiff(base.add(update), y));
    }

    @ParameterizedTest(name = "{0}->{1} k{2} s{3} p{4} d{5}")
    @MethodSource("geometries")
    void mergedAndUnmergedOutputsAgreeAndUnmergeRestoresTheKernel(int in, int out, int k, int stride, int padding,
            int dilation) {
        ConvGeometry g = ConvGeometry.of(stride, padding, dilation, 1);
        Conv2d layer = conv(DataType.FLOAT, in, out, k, g, 20L * k + stride);
        INDArray original = layer.weight().value().dup();
        LoraConv2d lora = LoraLayers.attach(layer);
        lora.addAdapter("default", new AdapterSettings(4, 8, 0, false, LoraInit.RANDOM), new Random(9));
        Tensor x = Tensor.constant(randn(DataType.FLOAT, 11, 3, in, 10, 10));
        INDArray unmerged = layer.forward(x).value().dup();
        lora.merge(List.of("default"));
        assertEquals(Set.of("default"), lora.merged());
        INDArray merged = layer.forward(x).value();
        assertTrue(maxAbsDiff(unmerged, merged) < 1e-5, "merged vs unmerged max abs diff " + maxAbsDiff(unmerged, merged));
        assertTrue(maxAbsDiff(original, layer.weight().value()) > 1e-3, "merging changed the kernel");
        lora.unmerge(List.of("default"));
        assertTrue(maxAbsDiff(original, layer.weight().value()) < 1e-6, "unmerge restores the kernel");
        assertTrue(maxAbsDiff(unmerged, layer.forward(x).value()) < 1e-5);
    }

    /**
     * PEFT's {@code get_delta_weight} for Conv2d, written out independently: for a 1×1 kernel
     * {@code (B.squeeze(3).squeeze(2) @ A.squeeze(3).squeeze(2)).unsqueeze(2).unsqueeze(3) · s}; for
     * a k×k kernel {@code conv2d(A.transpose(0, 1), B).transpose(0, 1) · s}, i.e. the r-channel
     * "images" Aᵀ {@code [in, r, kh, kw]} convolved with B as a 1×1 kernel.
     */
    @Test
    void deltaWeightIsPeftsGetDeltaWeight() {
        Conv2d kxk = conv(DataType.DOUBLE, 5, 7, 3, ConvGeometry.of(1, 1), 31);
        LoraAdapter a3 = LoraLayers.attach(kxk).addAdapter("default", new AdapterSettings(4, 12, 0, false, LoraInit.RANDOM),
                new Random(3));
        INDArray aT = a3.a().value().permute(1, 0, 2, 3).dup('c');
        INDArray peft = NaiveConv.conv2d(aT, a3.b().value(), null, ConvGeometry.DEFAULT).permute(1, 0, 2, 3).mul(3.0);
        INDArray delta = LoraLayers.of(kxk).deltaWeight(a3);
        assertArrayEquals(new long[] {7, 5, 3, 3}, delta.shape());
        assertTrue(maxAbsDiff(peft, delta) < 1e-12);

        Conv2d pointwise = conv(DataType.DOUBLE, 5, 7, 1, ConvGeometry.DEFAULT, 33);
        LoraAdapter a1 = LoraLayers.attach(pointwise).addAdapter("default", new AdapterSettings(4, 12, 0, false, LoraInit.RANDOM),
                new Random(4));
        INDArray squeezed = a1.b().value().reshape(7, 4).mmul(a1.a().value().reshape(4, 5)).reshape(7, 5, 1, 1).mul(3.0);
        assertTrue(maxAbsDiff(squeezed, LoraLayers.of(pointwise).deltaWeight(a1)) < 1e-12);
    }

    @Test
    void groupedConvolutionTrainsButDoesNotMerge() {
        ConvGeometry g = ConvGeometry.of(1, 1, 1, 2);
        Conv2d layer = conv(DataType.DOUBLE, 4, 6, 3, g, 41);
        LoraConv2d lora = LoraLayers.attach(layer);
        assertThrows(IllegalArgumentException.class,
                () -> lora.addAdapter("odd", new AdapterSettings(3, 3, 0, false, LoraInit.RANDOM), new Random(1)),
                "the rank must be a multiple of the groups");
        LoraAdapter adapter = lora.addAdapter("default", new AdapterSettings(4, 4, 0, false, LoraInit.RANDOM), new Random(2));
        assertArrayEquals(new long[] {4, 4, 3, 3}, adapter.a().shape(), "A has one group: [r, in, kh, kw]");
        assertArrayEquals(new long[] {6, 2, 1, 1}, adapter.b().shape(), "B has the base's groups: [out, r/groups, 1, 1]");
        INDArray x = randn(DataType.DOUBLE, 42, 2, 4, 6, 6);
        INDArray y = layer.forward(Tensor.constant(x)).value();
        INDArray h = NaiveConv.conv2d(x, adapter.a().value(), null, g.withGroups(1));
        INDArray expected = NaiveConv.conv2d(x, layer.weight().value(), layer.bias().value(), g)
                .add(NaiveConv.conv2d(h, adapter.b().value(), null, ConvGeometry.DEFAULT.withGroups(2)));
        assertTrue(maxAbsDiff(expected, y) < 1e-12);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> lora.merge(List.of("default")));
        assertTrue(e.getMessage().contains("grouped"), e.getMessage());
        assertTrue(lora.merged().isEmpty());
    }

    @Test
    void gradientsOfTheAdaptedLayer() {
        Conv2d layer = conv(DataType.DOUBLE, 3, 4, 3, ConvGeometry.of(2, 1, 1, 1), 51);
        layer.freeze();
        LoraAdapter adapter = LoraLayers.attach(layer).addAdapter("default",
                new AdapterSettings(2, 4, 0, false, LoraInit.RANDOM), new Random(5));
        assertEquals(DataType.DOUBLE, adapter.a().dataType(), "factors take the base kernel's type");
        Tensor x = Tensor.variable(randn(DataType.DOUBLE, 52, 2, 3, 7, 7));
        GradientCheck.of(() -> layer.forward(x))
                .input("x", x).input("lora_A", adapter.a()).input("lora_B", adapter.b()).verify();
        assertNull(layer.weight().grad(), "the frozen kernel has no gradient buffer");
        assertNull(layer.bias().grad());
        assertNotNull(adapter.a().grad());
    }

    /**
     * Without dropout the base and every active adapter share one column matrix
     * ({@code Functional.conv2dWithLora}); it must equal the separate path and have exact
     * gradients, also with two adapters, a grouped kernel and a trainable base.
     */
    @Test
    void sharedColumnPathEqualsTheSeparatePathAndHasExactGradients() {
        ConvGeometry g = new ConvGeometry(2, 1, 1, 2, 1, 2, 2);
        Conv2d layer = conv(DataType.DOUBLE, 4, 6, 3, g, 71);
        LoraConv2d lora = LoraLayers.attach(layer);
        LoraAdapter first = lora.addAdapter("first", new AdapterSettings(2, 3, 0, false, LoraInit.RANDOM), new Random(1));
        LoraAdapter second = lora.addAdapter("second", new AdapterSettings(4, 2, 0, false, LoraInit.RANDOM), new Random(2));
        lora.setActive(List.of("first", "second"));
        layer.weight().setTrainable(true);
        layer.bias().setTrainable(true);
        Tensor x = Tensor.variable(randn(DataType.DOUBLE, 72, 2, 4, 7, 8));
        INDArray fused = layer.forward(x).value();
        INDArray separate = lora.addUpdates(x,
                dev.lora4j.autograd.Functional.conv2d(x, layer.weight(), layer.bias(), g), false).value();
        assertTrue(maxAbsDiff(fused, separate) < 1e-12, "max abs diff " + maxAbsDiff(fused, separate));
        GradientCheck.of(() -> layer.forward(x))
                .input("x", x).input("weight", layer.weight()).input("bias", layer.bias())
                .input("first.A", first.a()).input("first.B", first.b())
                .input("second.A", second.a()).input("second.B", second.b()).verify();
    }

    @Test
    void dropoutActsOnTheInputOnlyInTraining() {
        Conv2d layer = conv(DataType.FLOAT, 3, 4, 3, ConvGeometry.of(1, 1), 61);
        LoraLayers.attach(layer).addAdapter("default", new AdapterSettings(4, 4, 0.5, false, LoraInit.RANDOM), new Random(2));
        Tensor x = Tensor.constant(randn(DataType.FLOAT, 62, 2, 3, 6, 6));
        layer.eval();
        INDArray eval = layer.forward(x).value().dup();
        assertEquals(eval, layer.forward(x).value(), "no dropout in eval mode");
        layer.train();
        assertTrue(maxAbsDiff(eval, layer.forward(x).value()) > 1e-4, "dropout changes the update in training");
        LoraLayers.of(layer).setDisabled(true);
        INDArray base = layer.forward(x).value();
        AdapterAttachments.detach(layer);
        assertEquals(base, layer.forward(x).value());
    }
}
