package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.testing.GradientCheck;
import dev.lora4j.testing.TestArrays;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The gradient check itself: it must pass correct gradients and catch wrong ones. */
class GradientCheckSelfTest {

    /** x² with a backward that is wrong (by a factor 1.001) at exactly one element. */
    private static Tensor squareWithWrongGradientAt(Tensor x, long wrongFlatIndex) {
        INDArray v = x.value();
        return Tensor.result(v.mul(v), g -> {
            INDArray dx = g.mul(v).muli(2.0);
            dx.putScalar(wrongFlatIndex, dx.getDouble(wrongFlatIndex) * 1.001);
            x.accumulateGradient(dx);
        }, x);
    }

    @Test
    void relativeErrorFormula() {
        // |a − n| / max(|a|, |n|, 1e-8)
        assertEquals(0.5, GradientCheck.relativeError(1.0, 2.0), 0);
        assertEquals(0.5, GradientCheck.relativeError(-2.0, -1.0), 0);
        assertEquals(0.0, GradientCheck.relativeError(0.0, 0.0), 0);
        assertEquals(1e-9 / 1e-8, GradientCheck.relativeError(1e-9, 0.0), 1e-15);
    }

    @Test
    void correctGradientPasses() {
        Tensor x = Tensor.variable(TestArrays.normal(1, 3, 4));
        GradientCheck.Result result = GradientCheck.of(() -> x.mul(x)).input("x", x).verify();
        assertTrue(result.maxRelativeError() < 1e-7, result.describe());
        assertEquals(12, result.elements());
    }

    @Test
    void wrongGradientFailsNamingInputAndIndex() {
        Tensor x = Tensor.variable(TestArrays.normal(2, 3, 4));
        Tensor y = Tensor.variable(TestArrays.normal(3, 2));
        GradientCheck.Result result = GradientCheck.of(() -> squareWithWrongGradientAt(x, 6))
                .input("y-unused", y).allowZeroGradient()
                .input("x", x).run();
        assertFalse(result.passed());
        assertEquals("x", result.worstInput());
        assertArrayEquals(new long[] {1, 2}, result.worstIndex()); // flat 6 in [3, 4]
        assertEquals(1e-3 / 1.001, result.maxRelativeError(), 1e-6);
        AssertionError error = assertThrows(AssertionError.class,
                () -> GradientCheck.of(() -> squareWithWrongGradientAt(x, 6)).input("x", x).verify());
        assertTrue(error.getMessage().contains("input 'x' index [1, 2]"), error.getMessage());
    }

    @Test
    void missingGradientFails() {
        Tensor x = Tensor.variable(TestArrays.normal(4, 2, 2));
        // the backward forgets x entirely
        GradientCheck.Result result = GradientCheck.of(
                () -> Tensor.result(x.value().mul(3.0), g -> {}, x)).input("x", x).run();
        assertFalse(result.passed());
        assertEquals(0.0, result.worstAnalytic());
        assertTrue(Math.abs(result.worstNumeric()) > 0.1, result.describe());
        assertEquals(1.0, result.maxRelativeError(), 1e-12);
    }

    @Test
    void allZeroGradientIsReportedAsVacuous() {
        Tensor x = Tensor.variable(TestArrays.normal(5, 3));
        Tensor unused = Tensor.variable(TestArrays.normal(6, 3));
        GradientCheck.Result result = GradientCheck.of(() -> x.exp()).input("x", x).input("unused", unused).run();
        assertFalse(result.passed());
        assertTrue(result.describe().contains("identically zero for input(s) unused"), result.describe());
    }

    @Test
    void zeroGradientInputUsesAbsoluteBounds() {
        // softmax(x + c) = softmax(x) for a per-row constant c: c's gradient is exactly zero
        Tensor x = Tensor.variable(TestArrays.normal(9, 3, 4));
        Tensor c = Tensor.variable(TestArrays.normal(10, 3, 1));
        GradientCheck.of(() -> x.add(c).softmax()).input("x", x).zeroGradientInput("c", c).verify();
        // a gradient that is not zero fails
        GradientCheck.Result result = GradientCheck.of(() -> x.add(c).tanh())
                .input("x", x).zeroGradientInput("c", c).run();
        assertFalse(result.passed());
        assertTrue(result.describe().contains("input 'c' should have a zero gradient but at index [0, 0]"),
                result.describe());
    }

    @Test
    void valuesAreRestoredExactly() {
        INDArray original = TestArrays.normal(7, 2, 3);
        Tensor x = Tensor.variable(original.dup());
        GradientCheck.of(() -> x.tanh()).input("x", x).verify();
        assertEquals(original, x.value());
    }

    @Test
    void rejectsFloat32AndNonTrainableInputs() {
        Tensor f32 = Tensor.variable(Nd4j.ones(DataType.FLOAT, 2));
        assertThrows(IllegalArgumentException.class, () -> GradientCheck.of(() -> f32.exp()).input("f32", f32).run());
        Tensor constant = Tensor.constant(TestArrays.normal(8, 2));
        assertThrows(IllegalArgumentException.class,
                () -> GradientCheck.of(() -> constant.exp()).input("c", constant).run());
    }
}
