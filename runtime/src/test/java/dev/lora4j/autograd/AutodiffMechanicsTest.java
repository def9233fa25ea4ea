package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.GradientCheck;
import dev.lora4j.testing.TestArrays;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/** How backpropagation behaves: accumulation, fan-out, grad mode, frozen leaves, freed buffers, errors. */
class AutodiffMechanicsTest {

    private static Tensor loss(Tensor x, Tensor w) {
        return x.matmul(w).tanh().sum();
    }

    @Test
    void gradientsAccumulateOverTwoBackwardPasses() {
        Tensor x = Tensor.constant(TestArrays.normal(201, 3, 4));
        Parameter w = new Parameter(TestArrays.normal(202, 4, 2));
        loss(x, w).backward();
        INDArray once = w.grad().dup();
        loss(x, w).backward();
        assertTrue(once.mul(2.0).equalsWithEps(w.grad(), 1e-14), "two passes give twice the gradient");
        // and twice through the same recorded graph
        w.clearGrad();
        Tensor l = loss(x, w);
        l.backward();
        l.backward();
        assertTrue(once.mul(2.0).equalsWithEps(w.grad(), 1e-14));
    }

    @Test
    void zeroGradResetsTheAccumulation() {
        Parameter w = new Parameter(TestArrays.normal(203, 4, 2));
        Tensor x = Tensor.constant(TestArrays.normal(204, 3, 4));
        loss(x, w).backward();
        INDArray once = w.grad().dup();
        INDArray buffer = w.grad();
        w.zeroGrad();
        assertEquals(0.0, buffer.amaxNumber().doubleValue(), 0);
        loss(x, w).backward();
        assertTrue(once.equalsWithEps(w.grad(), 1e-14));
    }

    @Test
    void tensorUsedTwiceGetsTheSum() {
        Tensor x = Tensor.variable(TestArrays.normal(205, 2, 3));
        // d/dx sum(x + x) = 2
        x.add(x).sum().backward();
        assertEquals(Nd4j.valueArrayOf(x.shape(), 2.0, x.dataType()), x.grad());
        // d/dx sum(x·tanh(x)) = tanh(x) + x·(1 − tanh²(x))
        x.clearGrad();
        x.mul(x.tanh()).sum().backward();
        INDArray t = Transforms.tanh(x.value(), true);
        INDArray expected = t.add(x.value().mul(t.mul(t).rsub(1.0)));
        assertTrue(expected.equalsWithEps(x.grad(), 1e-14));
    }

    @Test
    void interiorNodeUsedTwiceGetsTheSum() {
        // h = tanh(x) feeds both factors of h·exp(h): d/dx = (exp(h) + h·exp(h))·(1 − h²)
        Tensor x = Tensor.variable(TestArrays.normal(206, 2, 3));
        GradientCheck.of(() -> {
            Tensor h = x.tanh();
            return h.mul(h.exp());
        }).input("x", x).verify();
        x.clearGrad();
        Tensor h = x.tanh();
        h.mul(h.exp()).sum().backward();
        INDArray hv = Transforms.tanh(x.value(), true);
        INDArray eh = Transforms.exp(hv, true);
        INDArray expected = eh.add(hv.mul(eh)).muli(hv.mul(hv).rsub(1.0));
        assertTrue(expected.equalsWithEps(x.grad(), 1e-14));
    }

    @Test
    void leafGradientsAreSeparateBuffers() {
        // a + b sends the same upstream array to both leaves; each must keep its own copy,
        // or changing one gradient in place (zeroGrad, clipping) would change the other
        Parameter a = new Parameter(TestArrays.normal(207, 2, 3));
        Parameter b = new Parameter(TestArrays.normal(208, 2, 3));
        a.add(b).sum().backward();
        a.grad().muli(5.0);
        assertEquals(Nd4j.onesLike(b.value()), b.grad());
        a.zeroGrad();
        assertEquals(Nd4j.onesLike(b.value()), b.grad());
        // nor is the caller's seed kept as a leaf's buffer
        INDArray seed = TestArrays.normal(209, 2, 3);
        INDArray seedCopy = seed.dup();
        Parameter c = new Parameter(TestArrays.normal(210, 2, 3));
        c.add(1.0).backward(seed);
        c.zeroGrad();
        assertEquals(seedCopy, seed);
    }

    @Test
    @SuppressWarnings("try")
    void gradModeDisabledRecordsNoGraph() {
        Parameter w = new Parameter(TestArrays.normal(211, 4, 2));
        Tensor x = Tensor.constant(TestArrays.normal(212, 3, 4));
        Tensor y;
        try (GradMode.Scope ignored = GradMode.disable()) {
            assertFalse(GradMode.isEnabled());
            y = x.matmul(w).tanh();
            assertFalse(y.requiresGrad());
            try (GradMode.Scope nested = GradMode.disable()) {
                assertFalse(x.matmul(w).requiresGrad());
            }
            assertFalse(GradMode.isEnabled(), "closing a nested scope keeps the outer one");
        }
        assertTrue(GradMode.isEnabled());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> y.sum().backward());
        assertTrue(e.getMessage().startsWith("this tensor does not require a gradient"), e.getMessage());
        assertNull(w.grad());
        assertTrue(x.matmul(w).requiresGrad(), "recording is back on after the scope");
    }

    @Test
    @SuppressWarnings("try")
    void gradModeIsPerThread() throws InterruptedException {
        AtomicBoolean otherThread = new AtomicBoolean();
        try (GradMode.Scope ignored = GradMode.disable()) {
            Thread t = new Thread(() -> otherThread.set(GradMode.isEnabled()));
            t.start();
            t.join();
        }
        assertTrue(otherThread.get());
    }

    @Test
    void resultOfConstantsRecordsNothing() {
        Tensor a = Tensor.constant(TestArrays.normal(213, 2, 3));
        assertFalse(a.mul(a).exp().requiresGrad());
        assertThrows(IllegalStateException.class, () -> a.sum().backward());
    }

    @Test
    void frozenParameterNeverGetsAGradientBuffer() {
        Parameter frozen = new Parameter(TestArrays.normal(214, 4, 2), false);
        Parameter trainable = new Parameter(TestArrays.normal(215, 2));
        Tensor x = Tensor.constant(TestArrays.normal(216, 3, 4));
        Tensor y = x.matmul(frozen).add(trainable).sum();
        y.backward();
        assertNull(frozen.grad());
        assertNotNull(trainable.grad());
        // only frozen inputs: nothing is recorded at all
        assertFalse(x.matmul(frozen).requiresGrad());
        // freezing drops an existing buffer; unfreezing lets it collect again
        trainable.setTrainable(false);
        assertNull(trainable.grad());
        assertFalse(trainable.isTrainable());
        assertFalse(x.matmul(frozen).add(trainable).requiresGrad());
        trainable.setTrainable(true);
        x.matmul(frozen).add(trainable).sum().backward();
        assertEquals(Nd4j.valueArrayOf(trainable.shape(), 3.0, trainable.dataType()), trainable.grad());
        assertNull(frozen.grad());
    }

    @Test
    void intermediateGradientsAreFreed() {
        Tensor x = Tensor.variable(TestArrays.normal(217, 3, 4));
        Parameter w = new Parameter(TestArrays.normal(218, 4, 2));
        Tensor h = x.matmul(w);
        Tensor a = h.tanh();
        Tensor s = a.mul(h).sum();
        s.backward();
        assertNull(h.grad());
        assertNull(a.grad());
        assertNull(s.grad());
        assertNotNull(x.grad());
        assertNotNull(w.grad());
    }

    @Test
    void backwardOnANonScalarNeedsASeed() {
        Tensor x = Tensor.variable(TestArrays.normal(219, 2, 3));
        Tensor y = x.tanh();
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertEquals("backward() without a seed needs a one-element tensor, the shape is [2, 3]", e.getMessage());
        assertNull(x.grad());
        IllegalStateException wrongSeed = assertThrows(IllegalStateException.class,
                () -> y.backward(Nd4j.ones(y.dataType(), 3, 2)));
        assertEquals("gradient shape [3, 2] does not match tensor shape [2, 3]", wrongSeed.getMessage());
        y.backward(Nd4j.onesLike(y.value()));
        assertNotNull(x.grad());
    }

    @Test
    void itemNeedsOneElement() {
        Tensor x = Tensor.constant(TestArrays.normal(220, 2, 3));
        IllegalStateException e = assertThrows(IllegalStateException.class, x::item);
        assertEquals("item() needs one element, the shape is [2, 3]", e.getMessage());
        assertEquals(x.value().sumNumber().doubleValue(), x.sum().item(), 1e-12);
    }

    @Test
    void shapeMismatchErrorsNameTheShapes() {
        Tensor a = Tensor.variable(TestArrays.normal(221, 2, 3));
        Tensor b = Tensor.variable(TestArrays.normal(222, 3, 2));
        RuntimeException add = assertThrows(RuntimeException.class, () -> a.add(b));
        assertTrue(add.getMessage().contains("[2, 3]") && add.getMessage().contains("[3, 2]"), add.getMessage());
        RuntimeException mul = assertThrows(RuntimeException.class, () -> a.mul(b.reshape(6)));
        assertTrue(mul.getMessage().contains("[2, 3]") && mul.getMessage().contains("[6]"), mul.getMessage());
        RuntimeException reshape = assertThrows(RuntimeException.class, () -> a.reshape(4, 2));
        assertTrue(reshape.getMessage().contains("[2, 3]") && reshape.getMessage().contains("[4, 2]"),
                reshape.getMessage());
        IllegalArgumentException permute = assertThrows(IllegalArgumentException.class, () -> a.permute(1, 0, 2));
        assertEquals("permute needs 2 dimensions, got 3", permute.getMessage());
        IllegalArgumentException matmul = assertThrows(IllegalArgumentException.class, () -> a.matmul(a));
        assertEquals("matmul shapes do not fit: [2, 3] x [2, 3]", matmul.getMessage());
    }
}
