package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lora4j.testing.GradientCheck;
import dev.lora4j.testing.TestArrays;
import java.util.function.BinaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * add / sub / mul with numpy broadcasting, and the scalar forms. Gradient checks in float64, relative
 * error below 1e-4 (see {@link GradientCheck}); forward values exact to 1e-12.
 */
class ElementwiseGradientTest {

    private enum Op {
        ADD(Tensor::add, Double::sum),
        SUB(Tensor::sub, (a, b) -> a - b),
        MUL(Tensor::mul, (a, b) -> a * b);

        final BinaryOperator<Tensor> tensor;
        final BinaryOperator<Double> scalar;

        Op(BinaryOperator<Tensor> tensor, BinaryOperator<Double> scalar) {
            this.tensor = tensor;
            this.scalar = scalar;
        }
    }

    /** Pairs of shapes: same shape, trailing-dim bias, size-1 dims on either side, a [B,1,1,T] mask. */
    static Stream<Arguments> cases() {
        long[][][] shapes = {
            {{2, 3}, {2, 3}},                // same shape
            {{2, 3, 4}, {4}},                // trailing-dim bias
            {{4}, {2, 3, 4}},                // bias on the left
            {{2, 3, 4}, {2, 1, 4}},          // size-1 middle dim
            {{3, 1}, {1, 4}},                // both sides broadcast
            {{2, 3, 4}, {1, 3, 1}},          // two size-1 dims
            {{2, 2, 3, 3}, {2, 1, 1, 3}},    // attention scores + key padding mask
            {{2, 2, 3, 3}, {3, 3}},          // attention scores + causal mask
            {{2, 3}, {1}},                   // one-element vector
            {{2, 3}, {}},                    // rank-0 scalar tensor
        };
        Stream.Builder<Arguments> b = Stream.builder();
        for (Op op : Op.values()) {
            for (long[][] s : shapes) {
                b.add(Arguments.of(op, s[0], s[1]));
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} {1} with {2}")
    @MethodSource("cases")
    void broadcastingGradient(Op op, long[] shapeA, long[] shapeB) {
        Tensor a = Tensor.variable(TestArrays.normal(11, shapeA));
        Tensor b = Tensor.variable(TestArrays.normal(12, shapeB));
        GradientCheck.of(() -> op.tensor.apply(a, b)).input("a", a).input("b", b).verify();
    }

    @ParameterizedTest(name = "{0} {1} with {2}")
    @MethodSource("cases")
    void broadcastingForwardMatchesElementLoop(Op op, long[] shapeA, long[] shapeB) {
        Tensor a = Tensor.constant(TestArrays.normal(13, shapeA));
        Tensor b = Tensor.constant(TestArrays.normal(14, shapeB));
        Tensor c = op.tensor.apply(a, b);
        int rank = Math.max(shapeA.length, shapeB.length);
        long[] expectedShape = new long[rank];
        for (int d = 0; d < rank; d++) {
            expectedShape[d] = Math.max(dim(shapeA, d, rank), dim(shapeB, d, rank));
        }
        assertArrayEquals(expectedShape, c.shape());
        long n = c.value().length();
        for (long flat = 0; flat < n; flat++) {
            long[] index = unravel(flat, expectedShape);
            double expected = op.scalar.apply(at(a, index), at(b, index));
            assertEquals(expected, c.value().getDouble(index), 1e-12);
        }
    }

    @Test
    void sameTensorOnBothSides() {
        Tensor a = Tensor.variable(TestArrays.normal(15, 2, 3));
        GradientCheck.of(() -> a.mul(a)).input("a", a).verify();
        GradientCheck.of(() -> a.add(a)).input("a", a).verify();
        // a − a is 0 with gradient 0 everywhere
        GradientCheck.of(() -> a.sub(a).add(a.mul(0.5))).input("a", a).verify();
    }

    @Test
    void constantOperandGetsNoGradient() {
        Tensor a = Tensor.variable(TestArrays.normal(16, 2, 3));
        Tensor c = Tensor.constant(TestArrays.normal(17, 3));
        GradientCheck.of(() -> a.mul(c).sub(c)).input("a", a).verify();
        assertEquals(null, c.grad());
    }

    @Test
    void scalarMultiply() {
        Tensor a = Tensor.variable(TestArrays.normal(18, 2, 3));
        GradientCheck.of(() -> a.mul(-2.5)).input("a", a).verify();
        assertEquals(TestArrays.normal(18, 2, 3).mul(-2.5), a.mul(-2.5).value());
    }

    @Test
    void scalarAdd() {
        Tensor a = Tensor.variable(TestArrays.normal(19, 2, 3));
        GradientCheck.of(() -> a.add(3.25).mul(a)).input("a", a).verify();
        assertEquals(TestArrays.normal(19, 2, 3).add(3.25), a.add(3.25).value());
    }

    @Test
    void negate() {
        Tensor a = Tensor.variable(TestArrays.normal(20, 2, 3));
        GradientCheck.of(a::neg).input("a", a).verify();
        assertEquals(TestArrays.normal(20, 2, 3).neg(), a.neg().value());
    }

    private static long dim(long[] shape, int d, int rank) {
        int offset = rank - shape.length;
        return d < offset ? 1 : shape[d - offset];
    }

    /** The element of {@code t} that broadcasting pairs with {@code index} of the result. */
    private static double at(Tensor t, long[] index) {
        long[] shape = t.shape();
        int offset = index.length - shape.length;
        long[] own = new long[shape.length];
        for (int d = 0; d < shape.length; d++) {
            own[d] = shape[d] == 1 ? 0 : index[d + offset];
        }
        return t.value().getDouble(own);
    }

    private static long[] unravel(long flat, long[] shape) {
        long[] index = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            index[d] = flat % shape[d];
            flat /= shape[d];
        }
        return index;
    }
}
