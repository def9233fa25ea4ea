package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.GradientCheck;
import dev.lora4j.testing.TestArrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The fused functions of {@link Functional}: gradient checks in float64 (relative error below 1e-4)
 * and forward values against loops written here (to 1e-12 unless stated).
 */
class FunctionalTest {

    // ---- linear ------------------------------------------------------------------------------

    @Test
    void linearWithBiasGradient() {
        Tensor x = Tensor.variable(TestArrays.normal(61, 2, 3, 4));
        Tensor w = Tensor.variable(TestArrays.normal(62, 5, 4));
        Tensor b = Tensor.variable(TestArrays.normal(63, 5));
        GradientCheck.of(() -> Functional.linear(x, w, b, false))
                .input("x", x).input("weight", w).input("bias", b).verify();
    }

    @Test
    void linearWithoutBiasGradient() {
        Tensor x = Tensor.variable(TestArrays.normal(64, 3, 4));
        Tensor w = Tensor.variable(TestArrays.normal(65, 5, 4));
        GradientCheck.of(() -> Functional.linear(x, w, null, false)).input("x", x).input("weight", w).verify();
    }

    @Test
    void linearFanInFanOutGradient() {
        Tensor x = Tensor.variable(TestArrays.normal(66, 2, 3, 4));
        Tensor w = Tensor.variable(TestArrays.normal(67, 4, 5)); // [in, out]
        Tensor b = Tensor.variable(TestArrays.normal(68, 5));
        GradientCheck.of(() -> Functional.linear(x, w, b, true))
                .input("x", x).input("weight", w).input("bias", b).verify();
        GradientCheck.of(() -> Functional.linear(x, w, null, true)).input("x", x).input("weight", w).verify();
    }

    @Test
    void linearForwardBothLayouts() {
        INDArray x = TestArrays.normal(69, 2, 3, 4);
        INDArray w = TestArrays.normal(70, 5, 4);
        INDArray b = TestArrays.normal(71, 5);
        INDArray expected = MatmulTest.naive(x, w, true).add(b);
        Tensor y = Functional.linear(Tensor.constant(x), Tensor.constant(w), Tensor.constant(b), false);
        assertTrue(expected.equalsWithEps(y.value(), 1e-12));
        // the same weight stored [in, out]
        Tensor yT = Functional.linear(Tensor.constant(x), Tensor.constant(w.transpose().dup('c')),
                Tensor.constant(b), true);
        assertTrue(expected.equalsWithEps(yT.value(), 1e-12));
        assertArrayEquals(new long[] {2, 3, 5}, y.shape());
    }

    @Test
    void frozenWeightGetsNoGradient() {
        Tensor x = Tensor.variable(TestArrays.normal(72, 2, 3, 4));
        Parameter w = new Parameter(TestArrays.normal(73, 5, 4), false);
        Parameter b = new Parameter(TestArrays.normal(74, 5));
        GradientCheck.of(() -> Functional.linear(x, w, b, false)).input("x", x).input("bias", b).verify();
        assertNull(w.grad(), "a frozen weight never gets a gradient buffer");
        Parameter wT = new Parameter(TestArrays.normal(75, 4, 5), false);
        GradientCheck.of(() -> Functional.linear(x, wT, b, true)).input("x", x).input("bias", b).verify();
        assertNull(wT.grad());
    }

    @Test
    void linearShapeMismatch() {
        Tensor x = Tensor.variable(TestArrays.normal(76, 3, 4));
        Tensor w = Tensor.variable(TestArrays.normal(77, 5, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Functional.linear(x, w, null, false));
        assertEquals("linear: input's last dimension is 4 but the weight [5, 3] expects 3", e.getMessage());
    }

    @Test
    void rankOneInputs() {
        Tensor x = Tensor.variable(TestArrays.normal(78, 4));
        Tensor w = Tensor.variable(TestArrays.normal(79, 3, 4));
        Tensor b = Tensor.variable(TestArrays.normal(80, 3));
        GradientCheck.of(() -> Functional.linear(x, w, b, false)).input("x", x).input("weight", w).input("bias", b)
                .verify();
        assertArrayEquals(new long[] {3}, Functional.linear(x, w, b, false).shape());
        Tensor gamma = Tensor.variable(TestArrays.normal(90, 4));
        GradientCheck.of(() -> Functional.layerNorm(x, gamma, null, 1e-5)).input("x", x).input("gamma", gamma)
                .verify();
        GradientCheck.of(x::softmax).input("x", x).verify();
        GradientCheck.of(() -> Functional.crossEntropy(x, new int[] {2}, -100)).input("x", x).verify();
    }

    @Test
    void nonContiguousLeaves() {
        // leaves whose values are transposed or sliced views of larger arrays
        Tensor x = Tensor.variable(TestArrays.normal(150, 4, 3).transpose()); // [3, 4], 'f' order view
        Tensor w = Tensor.variable(TestArrays.normal(151, 4, 6).get(NDArrayIndex.all(), NDArrayIndex.interval(1, 6))); // [4, 5]
        Tensor w2 = Tensor.variable(TestArrays.normal(152, 4, 2).transpose()); // [2, 4]
        Tensor b = Tensor.variable(TestArrays.normal(153, 2, 5).getRow(1));
        GradientCheck.of(() -> Functional.linear(x, w, b, true)).input("x", x).input("w", w).input("b", b).verify();
        GradientCheck.of(() -> Functional.linear(x, w2, null, false).tanh().matmul(w2))
                .input("x", x).input("w2", w2).verify();
        GradientCheck.of(() -> Functional.layerNorm(x, w.narrow(1, 0, 1).reshape(4).add(1.0), null, 1e-5)
                        .mul(x).softmax())
                .input("x", x).input("w", w).verify();
        GradientCheck.of(() -> x.add(b.narrow(0, 0, 4)).mul(x.transpose().reshape(3, 4)))
                .input("x", x).input("b", b).verify();
    }

    // ---- LoRA --------------------------------------------------------------------------------

    @Test
    void loraDeltaGradient() {
        Tensor x = Tensor.variable(TestArrays.normal(81, 2, 3, 4));
        Tensor a = Tensor.variable(TestArrays.normal(82, 2, 4));
        Tensor b = Tensor.variable(TestArrays.normal(83, 5, 2));
        GradientCheck.of(() -> Functional.loraDelta(x, a, b, 0.75))
                .input("x", x).input("lora_A", a).input("lora_B", b).verify();
        GradientCheck.of(() -> Functional.loraDelta(x, a, b, 1.0))
                .input("x", x).input("lora_A", a).input("lora_B", b).verify();
    }

    @Test
    void loraDeltaForwardIsScaledBA() {
        INDArray x = TestArrays.normal(84, 2, 3, 4);
        INDArray a = TestArrays.normal(85, 2, 4);
        INDArray b = TestArrays.normal(86, 5, 2);
        INDArray deltaW = MatmulTest.naive(b, a, false); // [5, 4]
        INDArray expected = MatmulTest.naive(x, deltaW, true).muli(0.75);
        Tensor y = Functional.loraDelta(Tensor.constant(x), Tensor.constant(a), Tensor.constant(b), 0.75);
        assertTrue(expected.equalsWithEps(y.value(), 1e-12));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Functional.loraDelta(
                Tensor.constant(x), Tensor.constant(TestArrays.normal(87, 2, 3)), Tensor.constant(b), 1.0));
        assertEquals("lora: input's last dimension is 4 but lora_A [2, 3] expects 3", e.getMessage());
    }

    @Test
    void loraWithZeroBStillGivesAGradientToB() {
        // at initialisation lora_B = 0: A gets no gradient yet, B does
        Tensor x = Tensor.variable(TestArrays.normal(88, 3, 4));
        Tensor a = Tensor.variable(TestArrays.normal(89, 2, 4));
        Tensor b = Tensor.variable(Nd4j.zeros(DataType.DOUBLE, 5, 2));
        GradientCheck.of(() -> Functional.loraDelta(x, a, b, 2.0)).input("lora_B", b).verify();
        assertEquals(0.0, a.grad().amaxNumber().doubleValue(), 0);
    }

    @Test
    void fusedLinearWithLoraGradientWithTwoAdaptersAndADropoutInput() {
        // y = x·Wᵀ + b + 0.75·(x·A1ᵀ)·B1ᵀ + 2·(d·A2ᵀ)·B2ᵀ with d = 1.5·x standing in for a dropout of x
        Tensor x = Tensor.variable(TestArrays.normal(101, 2, 3, 4));
        Tensor w = Tensor.variable(TestArrays.normal(102, 5, 4));
        Tensor bias = Tensor.variable(TestArrays.normal(103, 5));
        Tensor a1 = Tensor.variable(TestArrays.normal(104, 2, 4));
        Tensor b1 = Tensor.variable(TestArrays.normal(105, 5, 2));
        Tensor a2 = Tensor.variable(TestArrays.normal(106, 3, 4));
        Tensor b2 = Tensor.variable(TestArrays.normal(107, 5, 3));
        GradientCheck.of(() -> {
            Tensor d = x.mul(1.5);
            return Functional.linearWithLora(x, w, bias, false, new Tensor[] {x, d}, new Tensor[] {a1, a2},
                    new Tensor[] {b1, b2}, new double[] {0.75, 2.0});
        }).input("x", x).input("weight", w).input("bias", bias).input("A1", a1).input("B1", b1)
                .input("A2", a2).input("B2", b2).verify();
    }

    @Test
    void linearWithAdaptersOnItsOwnInputIsTheSumOfItsDeltasAndKeepsEveryGradient() {
        // every adapter reads x itself (x's gradient through them is added into the base product's):
        // y = x·Wᵀ + b + 0.75·(x·A1ᵀ)·B1ᵀ + 2·(x·A2ᵀ)·B2ᵀ, in both weight layouts
        Tensor x = Tensor.variable(TestArrays.normal(121, 2, 3, 4));
        Tensor bias = Tensor.variable(TestArrays.normal(122, 5));
        Tensor a1 = Tensor.variable(TestArrays.normal(123, 2, 4));
        Tensor b1 = Tensor.variable(TestArrays.normal(124, 5, 2));
        Tensor a2 = Tensor.variable(TestArrays.normal(125, 3, 4));
        Tensor b2 = Tensor.variable(TestArrays.normal(126, 5, 3));
        Tensor[] as = {a1, a2};
        Tensor[] bs = {b1, b2};
        double[] scaling = {0.75, 2.0};
        for (boolean inOut : new boolean[] {false, true}) {
            Tensor w = Tensor.variable(inOut ? TestArrays.normal(127, 4, 5) : TestArrays.normal(127, 5, 4));
            Tensor fused = Functional.linearWithLora(x, w, bias, inOut, new Tensor[] {x, x}, as, bs, scaling);
            Tensor unfused = Functional.linear(x, w, bias, inOut).add(Functional.loraDelta(x, a1, b1, 0.75))
                    .add(Functional.loraDelta(x, a2, b2, 2.0));
            assertEquals(0.0, fused.value().sub(unfused.value()).amaxNumber().doubleValue(), 1e-12,
                    "weight " + (inOut ? "[in, out]" : "[out, in]"));
            GradientCheck.of(() -> Functional.linearWithLora(x, w, bias, inOut, new Tensor[] {x, x}, as, bs, scaling))
                    .input("x", x).input("weight", w).input("bias", bias).input("A1", a1).input("B1", b1)
                    .input("A2", a2).input("B2", b2).verify();
        }
    }

    @Test
    void anInteriorTensorReadByThreeProjectionsAndAResidualSumsTheirGradients() {
        // h feeds a residual and three projections (attention's query, key and value), one with an
        // adapter; from the second gradient on, h's gradient is its own and the products add into it
        Tensor x = Tensor.variable(TestArrays.normal(131, 2, 3, 4));
        Tensor wq = Tensor.variable(TestArrays.normal(132, 4, 4));
        Tensor wk = Tensor.variable(TestArrays.normal(133, 4, 4));
        Tensor wv = Tensor.variable(TestArrays.normal(134, 4, 4));
        Tensor a = Tensor.variable(TestArrays.normal(135, 2, 4));
        Tensor b = Tensor.variable(TestArrays.normal(136, 4, 2));
        GradientCheck.of(() -> {
            Tensor h = x.tanh();
            Tensor q = Functional.linearWithLora(h, wq, null, false, new Tensor[] {h}, new Tensor[] {a},
                    new Tensor[] {b}, new double[] {0.5});
            Tensor k = Functional.linear(h, wk, null, false);
            Tensor v = Functional.linear(h, wv, null, false);
            return q.mul(k).add(v.mul(v)).add(h);
        }).input("x", x).input("query", wq).input("key", wk).input("value", wv).input("A", a).input("B", b).verify();
    }

    @Test
    void fusedLinearWithLoraEqualsTheUnfusedSumAndSkipsFrozenWeights() {
        INDArray x = TestArrays.normal(111, 4, 6);
        Parameter w = new Parameter(TestArrays.normal(112, 6, 3), false); // fan-in-fan-out [in, out], frozen
        Tensor a = Tensor.variable(TestArrays.normal(113, 2, 6));
        Tensor b = Tensor.variable(TestArrays.normal(114, 3, 2));
        Tensor fused = Functional.linearWithLora(Tensor.constant(x), w, null, true, new Tensor[] {Tensor.constant(x)},
                new Tensor[] {a}, new Tensor[] {b}, new double[] {0.5});
        Tensor unfused = Functional.linear(Tensor.constant(x), w, null, true)
                .add(Functional.loraDelta(Tensor.constant(x), a, b, 0.5));
        assertTrue(unfused.value().equalsWithEps(fused.value(), 1e-12));
        fused.sum().backward();
        assertNull(w.grad(), "a frozen weight gets no gradient");
        GradientCheck.of(() -> Functional.linearWithLora(Tensor.constant(x), w, null, true,
                new Tensor[] {Tensor.constant(x)}, new Tensor[] {a}, new Tensor[] {b}, new double[] {0.5}))
                .input("A", a).input("B", b).verify();
    }

    // ---- layer norm --------------------------------------------------------------------------

    @Test
    void layerNormGradient() {
        Tensor x = Tensor.variable(TestArrays.normal(91, 2, 3, 5).muli(2.0).addi(0.5));
        Tensor gamma = Tensor.variable(TestArrays.normal(92, 5));
        Tensor beta = Tensor.variable(TestArrays.normal(93, 5));
        GradientCheck.of(() -> Functional.layerNorm(x, gamma, beta, 1e-5))
                .input("x", x).input("gamma", gamma).input("beta", beta).verify();
        GradientCheck.of(() -> Functional.layerNorm(x, gamma, null, 1e-5))
                .input("x", x).input("gamma", gamma).verify();
    }

    @Test
    void layerNormInFloat32HalfAndOnAViewAgreesWithFloat64() {
        // forward and every gradient in float32 and half against float64; a permuted (strided) input
        // must give what its C-order copy gives
        INDArray x = TestArrays.normal(98, 6, 5, 7).muli(3.0).addi(1.5);
        INDArray gamma = TestArrays.normal(99, 7);
        INDArray beta = TestArrays.normal(100, 7);
        INDArray seed = TestArrays.normal(101, 6, 5, 7);
        INDArray[] reference = layerNormAndGradients(x, gamma, beta, seed);
        INDArray permuted = x.permute(1, 0, 2).dup('c').permute(1, 0, 2); // a view with x's values
        INDArray[] strided = layerNormAndGradients(permuted, gamma, beta, seed);
        for (int i = 0; i < 4; i++) {
            assertEquals(0.0, reference[i].sub(strided[i]).amaxNumber().doubleValue(), 1e-12, "view, output " + i);
        }
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.HALF}) {
            INDArray[] low = layerNormAndGradients(x.castTo(type), gamma.castTo(type), beta.castTo(type),
                    seed.castTo(type));
            double tolerance = type == DataType.FLOAT ? 1e-5 : 5e-2;
            for (int i = 0; i < 4; i++) {
                assertEquals(type, low[i].dataType());
                double error = reference[i].sub(low[i].castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
                assertTrue(error < tolerance * Math.max(1, reference[i].amaxNumber().doubleValue()),
                        type + " output " + i + " differs by " + error);
            }
        }
    }

    /** {y, dx, dγ, dβ} for the seed gradient {@code seed}. */
    private static INDArray[] layerNormAndGradients(INDArray x, INDArray gamma, INDArray beta, INDArray seed) {
        Tensor tx = Tensor.variable(x);
        Tensor tg = Tensor.variable(gamma);
        Tensor tb = Tensor.variable(beta);
        Tensor y = Functional.layerNorm(tx, tg, tb, 1e-5);
        y.backward(seed);
        return new INDArray[] {y.value(), tx.grad(), tg.grad(), tb.grad()};
    }

    @Test
    void layerNormOutputHasMeanZeroAndVarianceOne() {
        INDArray x = TestArrays.normal(94, 4, 6).muli(3.0).addi(2.0);
        Tensor ones = Tensor.constant(Nd4j.ones(x.dataType(), 6));
        Tensor zeros = Tensor.constant(Nd4j.zeros(x.dataType(), 6));
        INDArray tinyEps = Functional.layerNorm(Tensor.constant(x), ones, zeros, 1e-12).value();
        INDArray defaultEps = Functional.layerNorm(Tensor.constant(x), ones, zeros, 1e-5).value();
        for (int r = 0; r < 4; r++) {
            double mean = 0;
            for (int c = 0; c < 6; c++) {
                mean += x.getDouble(r, c) / 6;
            }
            double variance = 0;
            for (int c = 0; c < 6; c++) {
                variance += Math.pow(x.getDouble(r, c) - mean, 2) / 6;
            }
            assertEquals(0.0, rowMean(tinyEps, r), 1e-12);
            assertEquals(1.0, rowVariance(tinyEps, r), 1e-9);
            assertEquals(0.0, rowMean(defaultEps, r), 1e-12);
            // with epsilon the variance is σ²/(σ²+ε)
            assertEquals(variance / (variance + 1e-5), rowVariance(defaultEps, r), 1e-12);
        }
    }

    @Test
    void layerNormScaleAndShift() {
        INDArray x = TestArrays.normal(95, 3, 4);
        INDArray gamma = TestArrays.normal(96, 4);
        INDArray beta = TestArrays.normal(97, 4);
        INDArray normalized = Functional.layerNorm(Tensor.constant(x), Tensor.constant(Nd4j.ones(x.dataType(), 4)),
                null, 1e-5).value();
        INDArray y = Functional.layerNorm(Tensor.constant(x), Tensor.constant(gamma), Tensor.constant(beta), 1e-5)
                .value();
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 4; c++) {
                assertEquals(normalized.getDouble(r, c) * gamma.getDouble(c) + beta.getDouble(c), y.getDouble(r, c),
                        1e-12);
            }
        }
    }

    private static double rowMean(INDArray a, int r) {
        double s = 0;
        for (int c = 0; c < a.size(1); c++) {
            s += a.getDouble(r, c);
        }
        return s / a.size(1);
    }

    private static double rowVariance(INDArray a, int r) {
        double mean = rowMean(a, r);
        double s = 0;
        for (int c = 0; c < a.size(1); c++) {
            s += Math.pow(a.getDouble(r, c) - mean, 2);
        }
        return s / a.size(1);
    }

    // ---- dropout -----------------------------------------------------------------------------

    @Test
    void dropoutGradientEqualsMask() {
        double p = 0.4;
        INDArray values = TestArrays.awayFromZero(101, 0.1, 1.0, 4, 5);
        Tensor x = Tensor.variable(values.dup());
        Tensor y = Functional.dropout(x, p, new Random(5));
        y.backward(Nd4j.onesLike(y.value()));
        INDArray mask = x.grad();
        int dropped = 0;
        for (long i = 0; i < mask.length(); i++) {
            double m = mask.getDouble(i);
            assertTrue(m == 0.0 || Math.abs(m - 1.0 / (1.0 - p)) < 1e-15, "mask element " + m);
            dropped += m == 0.0 ? 1 : 0;
            // the forward value is x times the same mask
            assertEquals(values.getDouble(i) * m, y.value().getDouble(i), 1e-15);
        }
        assertTrue(dropped > 0 && dropped < mask.length(), dropped + " of 20 dropped");
        // the same seed gives the same mask
        GradientCheck.of(() -> Functional.dropout(x, p, new Random(5))).input("x", x).verify();
        x.clearGrad();
        Functional.dropout(x, p, new Random(5)).sum().backward();
        assertEquals(mask, x.grad());
    }

    @Test
    void dropoutMasksAreTheOnesNextDoubleGivesInEveryTypeAndGenerator() {
        // the mask is drawn in blocks from a CheckpointableRandom; it must stay the per-element
        // rule `nextDouble() >= p ? 1/(1-p) : 0`, draw for draw, across a block boundary (4096)
        double p = 0.1;
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE, DataType.HALF}) {
            for (java.util.function.LongFunction<Random> generator : java.util.List.<java.util.function.LongFunction<Random>>of(
                    dev.lora4j.nn.CheckpointableRandom::new, Random::new)) {
                INDArray x = Nd4j.ones(type, 3, 5000);
                Random random = generator.apply(17);
                INDArray y = Functional.dropout(Tensor.constant(x), p, random).value();
                Random reference = new Random(17);
                double keep = 1.0 / (1.0 - p);
                for (long i = 0; i < x.length(); i++) {
                    double expected = reference.nextDouble() >= p ? keep : 0.0;
                    assertEquals(Nd4j.scalar(expected).castTo(type).getDouble(0), y.getDouble(i), 0,
                            type + " element " + i);
                }
                assertEquals(reference.nextLong(), random.nextLong(), "the generator is left where the draws leave it");
            }
        }
    }

    @Test
    void float32DropoutIsTheFloatProductWithItsMaskForwardAndBackwardOnViewsToo() {
        // the fused float32 kernel keeps its mask as bytes: its output and gradient must be the float
        // products x·m and g·m with m = (float) (1/(1−p)) or 0 from nextDouble() >= p, bit for bit,
        // across a chunk boundary (4096), and read a transposed view as ND4J means it
        double p = 0.3;
        float keep = (float) (1.0 / (1.0 - p));
        INDArray base = TestArrays.normal(57, 70, 90).castTo(DataType.FLOAT);
        for (INDArray values : new INDArray[] {base, base.transpose()}) {
            Tensor x = Tensor.variable(values.dup(values.ordering()));
            INDArray g = TestArrays.normal(58, values.shape()).castTo(DataType.FLOAT);
            Tensor y = Functional.dropout(x, p, new Random(21));
            y.backward(g);
            Random reference = new Random(21);
            INDArray plain = values.dup('c');
            INDArray gPlain = g.dup('c');
            INDArray yPlain = y.value().dup('c');
            INDArray dxPlain = x.grad().dup('c');
            for (long i = 0; i < plain.length(); i++) {
                float m = reference.nextDouble() >= p ? keep : 0f;
                assertEquals(plain.getFloat(i) * m, yPlain.getFloat(i), 0f, "output " + i);
                assertEquals(gPlain.getFloat(i) * m, dxPlain.getFloat(i), 0f, "gradient " + i);
            }
        }
    }

    @Test
    void dropoutWithZeroProbabilityIsIdentityAndBadProbabilityFails() {
        Tensor x = Tensor.variable(TestArrays.normal(102, 3));
        assertSame(x, Functional.dropout(x, 0.0, new Random(1)));
        assertThrows(IllegalArgumentException.class, () -> Functional.dropout(x, 1.0, new Random(1)));
        assertThrows(IllegalArgumentException.class, () -> Functional.dropout(x, -0.1, new Random(1)));
    }

    // ---- embedding ---------------------------------------------------------------------------

    @Test
    void embeddingGradientAccumulatesRepeatedIds() {
        Tensor weight = Tensor.variable(TestArrays.normal(111, 7, 3));
        INDArray ids = Nd4j.createFromArray(new int[][] {{1, 4, 1}, {6, 1, 0}});
        GradientCheck.of(() -> Functional.embedding(ids, weight)).input("weight", weight).verify();

        weight.clearGrad();
        Tensor y = Functional.embedding(ids, weight);
        assertArrayEquals(new long[] {2, 3, 3}, y.shape());
        INDArray seed = TestArrays.normal(112, 2, 3, 3);
        y.backward(seed);
        for (int d = 0; d < 3; d++) {
            // id 1 appears three times
            double expected = seed.getDouble(0, 0, d) + seed.getDouble(0, 2, d) + seed.getDouble(1, 1, d);
            assertEquals(expected, weight.grad().getDouble(1, d), 1e-12);
            assertEquals(seed.getDouble(1, 0, d), weight.grad().getDouble(6, d), 0);
            for (int unused : new int[] {2, 3, 5}) {
                assertEquals(0.0, weight.grad().getDouble(unused, d), 0);
            }
        }
        // forward: the looked-up rows
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) {
                for (int d = 0; d < 3; d++) {
                    assertEquals(weight.value().getDouble(ids.getInt(i, j), d), y.value().getDouble(i, j, d), 0);
                }
            }
        }
    }

    @Test
    void embeddingIdOutOfRange() {
        Tensor weight = Tensor.variable(TestArrays.normal(113, 4, 2));
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                () -> Functional.embedding(Nd4j.createFromArray(new int[] {0, 4}), weight));
        assertEquals("embedding id 4 at position 1 is outside the vocabulary [0, 4)", e.getMessage());
    }

    // ---- losses ------------------------------------------------------------------------------

    @Test
    void crossEntropyGradientWithIgnoredRows() {
        Tensor logits = Tensor.variable(TestArrays.normal(121, 2, 3, 5).muli(2.0));
        int[] targets = {1, -100, 4, 0, -100, 2};
        GradientCheck.of(() -> Functional.crossEntropy(logits, targets, -100)).input("logits", logits).verify();
        // ignored rows get exactly zero gradient
        for (int c = 0; c < 5; c++) {
            assertEquals(0.0, logits.grad().getDouble(0, 1, c), 0);
            assertEquals(0.0, logits.grad().getDouble(1, 1, c), 0);
        }
    }

    @Test
    void crossEntropyForwardMatchesDirectFormula() {
        INDArray logits = TestArrays.normal(122, 6, 5).muli(2.0);
        int[] targets = {1, 7, 4, 0, 7, 2};
        double total = 0;
        int counted = 0;
        for (int r = 0; r < 6; r++) {
            if (targets[r] == 7) {
                continue;
            }
            double z = 0;
            for (int c = 0; c < 5; c++) {
                z += Math.exp(logits.getDouble(r, c));
            }
            total += Math.log(z) - logits.getDouble(r, targets[r]);
            counted++;
        }
        assertEquals(total / counted, Functional.crossEntropy(Tensor.constant(logits), targets, 7).item(), 1e-12);
    }

    @Test
    void crossEntropyAllIgnored() {
        Tensor logits = Tensor.variable(TestArrays.normal(123, 2, 3));
        Tensor loss = Functional.crossEntropy(logits, new int[] {-100, -100}, -100);
        assertEquals(0.0, loss.item(), 0);
        loss.backward();
        assertEquals(0.0, logits.grad().amaxNumber().doubleValue(), 0);
    }

    @Test
    void crossEntropyErrors() {
        Tensor logits = Tensor.variable(TestArrays.normal(124, 2, 3, 4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Functional.crossEntropy(logits, new int[] {0, 1, 2}, -100));
        assertEquals("crossEntropy: 6 rows of logits but 3 targets", e.getMessage());
        IndexOutOfBoundsException o = assertThrows(IndexOutOfBoundsException.class,
                () -> Functional.crossEntropy(logits, new int[] {0, 1, 2, 3, 4, 0}, -100));
        assertEquals("target 4 at row 4 is outside the classes [0, 4)", o.getMessage());
    }

    @Test
    void mseGradientAndForward() {
        Tensor p = Tensor.variable(TestArrays.normal(125, 2, 3));
        Tensor t = Tensor.variable(TestArrays.normal(126, 2, 3));
        GradientCheck.of(() -> Functional.mse(p, t)).input("predictions", p).input("targets", t).verify();
        double s = 0;
        for (long i = 0; i < 6; i++) {
            s += Math.pow(p.value().getDouble(i) - t.value().getDouble(i), 2);
        }
        assertEquals(s / 6, Functional.mse(p, t).item(), 1e-12);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Functional.mse(p, Tensor.constant(TestArrays.normal(127, 3, 2))));
        assertEquals("mse: predictions [2, 3] and targets [3, 2] differ in shape", e.getMessage());
    }

    // ---- attention ---------------------------------------------------------------------------

    private static final INDArray KEY_MASK = Nd4j.createFromArray(new int[][] {{1, 1, 1, 1}, {1, 1, 0, 0}});

    @Test
    void attentionGradient() {
        Tensor q = Tensor.variable(TestArrays.normal(131, 2, 2, 4, 3));
        Tensor k = Tensor.variable(TestArrays.normal(132, 2, 2, 4, 3));
        Tensor v = Tensor.variable(TestArrays.normal(133, 2, 2, 4, 3));
        GradientCheck.of(() -> Functional.attention(q, k, v, false, null))
                .input("q", q).input("k", k).input("v", v).verify();
    }

    @Test
    void causalAttentionGradient() {
        Tensor q = Tensor.variable(TestArrays.normal(134, 2, 2, 4, 3));
        Tensor k = Tensor.variable(TestArrays.normal(135, 2, 2, 4, 3));
        Tensor v = Tensor.variable(TestArrays.normal(136, 2, 2, 4, 3));
        GradientCheck.of(() -> Functional.attention(q, k, v, true, null))
                .input("q", q).input("k", k).input("v", v).verify();
    }

    @Test
    void paddingMaskedAttentionGradient() {
        Tensor q = Tensor.variable(TestArrays.normal(137, 2, 2, 4, 3));
        Tensor k = Tensor.variable(TestArrays.normal(138, 2, 2, 4, 3));
        Tensor v = Tensor.variable(TestArrays.normal(139, 2, 2, 4, 3));
        GradientCheck.of(() -> Functional.attention(q, k, v, false, KEY_MASK))
                .input("q", q).input("k", k).input("v", v).verify();
        GradientCheck.of(() -> Functional.attention(q, k, v, true, KEY_MASK))
                .input("q", q).input("k", k).input("v", v).verify();
        // padded keys and values get exactly zero gradient
        for (int h = 0; h < 2; h++) {
            for (int s = 2; s < 4; s++) {
                for (int d = 0; d < 3; d++) {
                    assertEquals(0.0, k.grad().getDouble(1, h, s, d), 0);
                    assertEquals(0.0, v.grad().getDouble(1, h, s, d), 0);
                }
            }
        }
    }

    @Test
    void multiHeadAttentionGradient() {
        for (boolean causal : new boolean[] {false, true}) {
            for (INDArray mask : new INDArray[] {null, KEY_MASK}) {
                Tensor q = Tensor.variable(TestArrays.normal(151, 2, 4, 6));
                Tensor k = Tensor.variable(TestArrays.normal(152, 2, 4, 6));
                Tensor v = Tensor.variable(TestArrays.normal(153, 2, 4, 6));
                GradientCheck.of(() -> Functional.multiHeadAttention(q, k, v, 2, causal, mask))
                        .input("q", q).input("k", k).input("v", v).verify();
            }
        }
    }

    @Test
    void multiHeadAttentionIsSplitAttendMergeInFloat64AndFloat32() {
        INDArray mask = Nd4j.createFromArray(new int[][] {{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}, {1, 0, 0, 0, 0}});
        assertSplitAttendMerge(new long[] {3, 5, 8}, new long[] {3, 5, 8}, 4, mask, 154);
    }

    @Test
    void multiHeadCrossAttentionOverMoreKeysThanQueriesIsSplitAttendMerge() {
        assertSplitAttendMerge(new long[] {2, 5, 6}, new long[] {2, 7, 6}, 3, null, 158);
    }

    /**
     * The fused multi-head attention of random queries and keys (and values) of these shapes against
     * the heads split, attended and merged with copies, values and gradients: float64, the same
     * arithmetic (1e-12); float32, oneDNN reading strided heads and writing into the merged layout
     * (float rounding, 1e-5).
     */
    private static void assertSplitAttendMerge(long[] queries, long[] keys, int heads, INDArray mask, long seed) {
        for (DataType type : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
            double tolerance = type == DataType.DOUBLE ? 1e-12 : 1e-5;
            INDArray qa = TestArrays.normal(seed, queries).castTo(type);
            INDArray ka = TestArrays.normal(seed + 1, keys).castTo(type);
            INDArray va = TestArrays.normal(seed + 2, keys).castTo(type);
            INDArray upstream = TestArrays.normal(seed + 3, queries).castTo(type);
            Tensor q1 = Tensor.variable(qa.dup());
            Tensor k1 = Tensor.variable(ka.dup());
            Tensor v1 = Tensor.variable(va.dup());
            Tensor fused = Functional.multiHeadAttention(q1, k1, v1, heads, false, mask);
            fused.backward(upstream);
            Tensor q2 = Tensor.variable(qa.dup());
            Tensor k2 = Tensor.variable(ka.dup());
            Tensor v2 = Tensor.variable(va.dup());
            Tensor copied = Functional.attention(split(q2, heads), split(k2, heads), split(v2, heads), false, mask)
                    .permute(0, 2, 1, 3).reshape(queries);
            copied.backward(upstream);
            assertTrue(copied.value().equalsWithEps(fused.value(), tolerance), type + " output");
            assertTrue(q2.grad().equalsWithEps(q1.grad(), tolerance), type + " dq");
            assertTrue(k2.grad().equalsWithEps(k1.grad(), tolerance), type + " dk");
            assertTrue(v2.grad().equalsWithEps(v1.grad(), tolerance), type + " dv");
        }
    }

    @Test
    void multiHeadAttentionRefusesFeaturesThatDoNotSplit() {
        Tensor x = Tensor.constant(TestArrays.normal(158, 1, 2, 6));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Functional.multiHeadAttention(x, x, x, 4, false, null));
        assertEquals("multi-head attention: 6 features do not split into 4 heads", e.getMessage());
    }

    private static Tensor split(Tensor x, int heads) {
        return x.reshape(x.size(0), x.size(1), heads, x.size(2) / heads).permute(0, 2, 1, 3);
    }

    @Test
    void attentionForwardMatchesDirectComputation() {
        INDArray q = TestArrays.normal(141, 2, 2, 4, 3);
        INDArray k = TestArrays.normal(142, 2, 2, 4, 3);
        INDArray v = TestArrays.normal(143, 2, 2, 4, 3);
        for (boolean causal : new boolean[] {false, true}) {
            for (INDArray mask : new INDArray[] {null, KEY_MASK}) {
                INDArray y = Functional.attention(Tensor.constant(q), Tensor.constant(k), Tensor.constant(v), causal,
                        mask).value();
                assertTrue(directAttention(q, k, v, causal, mask).equalsWithEps(y, 1e-12),
                        "causal=" + causal + ", mask=" + (mask != null));
            }
        }
    }

    @Test
    void causalOutputDoesNotSeeLaterPositions() {
        INDArray q = TestArrays.normal(144, 2, 2, 5, 3);
        INDArray k = TestArrays.normal(145, 2, 2, 5, 3);
        INDArray v = TestArrays.normal(146, 2, 2, 5, 3);
        INDArray before = Functional.attention(Tensor.constant(q), Tensor.constant(k), Tensor.constant(v), true, null)
                .value();
        for (int t = 0; t < 4; t++) {
            // change q, k and v at every position after t
            INDArray q2 = q.dup();
            INDArray k2 = k.dup();
            INDArray v2 = v.dup();
            for (INDArray a : new INDArray[] {q2, k2, v2}) {
                for (int s = t + 1; s < 5; s++) {
                    for (int d = 0; d < 3; d++) {
                        for (int b = 0; b < 2; b++) {
                            for (int h = 0; h < 2; h++) {
                                a.putScalar(new long[] {b, h, s, d}, 10.0 * (s + d + 1));
                            }
                        }
                    }
                }
            }
            INDArray after = Functional.attention(Tensor.constant(q2), Tensor.constant(k2), Tensor.constant(v2), true,
                    null).value();
            for (int s = 0; s <= t; s++) {
                for (int d = 0; d < 3; d++) {
                    for (int b = 0; b < 2; b++) {
                        for (int h = 0; h < 2; h++) {
                            assertEquals(before.getDouble(b, h, s, d), after.getDouble(b, h, s, d), 1e-12,
                                    "position " + s + " changed when positions > " + t + " changed");
                        }
                    }
                }
            }
            // and the last position does see the change
            assertTrue(Math.abs(before.getDouble(0, 0, 4, 0) - after.getDouble(0, 0, 4, 0)) > 1e-3);
        }
    }

    @Test
    void paddedKeysDoNotInfluenceOutputs() {
        INDArray q = TestArrays.normal(147, 2, 2, 4, 3);
        INDArray k = TestArrays.normal(148, 2, 2, 4, 3);
        INDArray v = TestArrays.normal(149, 2, 2, 4, 3);
        INDArray k2 = k.dup();
        INDArray v2 = v.dup();
        for (int h = 0; h < 2; h++) {
            for (int s = 2; s < 4; s++) {
                for (int d = 0; d < 3; d++) {
                    k2.putScalar(new long[] {1, h, s, d}, 50.0);
                    v2.putScalar(new long[] {1, h, s, d}, -70.0);
                }
            }
        }
        for (boolean causal : new boolean[] {false, true}) {
            INDArray before = Functional.attention(Tensor.constant(q), Tensor.constant(k), Tensor.constant(v), causal,
                    KEY_MASK).value();
            INDArray after = Functional.attention(Tensor.constant(q), Tensor.constant(k2), Tensor.constant(v2), causal,
                    KEY_MASK).value();
            assertTrue(before.equalsWithEps(after, 1e-12), "padded keys changed the output, causal=" + causal);
            // without the mask the same change is visible
            INDArray unmasked = Functional.attention(Tensor.constant(q), Tensor.constant(k2), Tensor.constant(v2),
                    causal, null).value();
            assertTrue(Math.abs(unmasked.getDouble(1, 0, 3, 0) - before.getDouble(1, 0, 3, 0)) > 1e-3);
        }
    }

    /** softmax(q·kᵀ/√d) v by loops, leaving out masked keys entirely. */
    static INDArray directAttention(INDArray q, INDArray k, INDArray v, boolean causal, INDArray keyMask) {
        long batch = q.size(0);
        long heads = q.size(1);
        long time = q.size(2);
        long keys = k.size(2);
        long dim = q.size(3);
        long vdim = v.size(3);
        INDArray out = Nd4j.zeros(q.dataType(), batch, heads, time, vdim);
        for (long b = 0; b < batch; b++) {
            for (long h = 0; h < heads; h++) {
                for (long t = 0; t < time; t++) {
                    double[] weights = new double[(int) keys];
                    double max = Double.NEGATIVE_INFINITY;
                    for (long s = 0; s < keys; s++) {
                        boolean allowed = (!causal || s <= t) && (keyMask == null || keyMask.getDouble(b, s) != 0);
                        if (!allowed) {
                            weights[(int) s] = Double.NaN;
                            continue;
                        }
                        double score = 0;
                        for (long d = 0; d < dim; d++) {
                            score += q.getDouble(b, h, t, d) * k.getDouble(b, h, s, d);
                        }
                        weights[(int) s] = score / Math.sqrt(dim);
                        max = Math.max(max, weights[(int) s]);
                    }
                    double z = 0;
                    for (int s = 0; s < keys; s++) {
                        weights[s] = Double.isNaN(weights[s]) ? 0 : Math.exp(weights[s] - max);
                        z += weights[s];
                    }
                    for (long d = 0; d < vdim; d++) {
                        double acc = 0;
                        for (int s = 0; s < keys; s++) {
                            acc += weights[s] / z * v.getDouble(b, h, s, d);
                        }
                        out.putScalar(new long[] {b, h, t, d}, acc);
                    }
                }
            }
        }
        return out;
    }
}
