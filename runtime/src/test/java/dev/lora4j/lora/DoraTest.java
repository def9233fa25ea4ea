package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.LoRA;
import dev.lora4j.api.LoraInit;
import dev.lora4j.autograd.ConvGeometry;
import dev.lora4j.autograd.Functional;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Conv2d;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.GradientCheck;
import dev.lora4j.testing.NaiveConv;
import dev.lora4j.testing.TestArrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * DoRA on Linear layers against PEFT's formulas ({@code peft/tuners/lora/dora.py} and {@code
 * variants.py}, {@code DoraLinearLayer} / {@code DoraLinearVariant}): the weight {@code W' = m ⊙ (W +
 * s·B·A) / ‖W + s·B·A‖} with the norm per output feature; the forward {@code base + (g − 1)·(base −
 * bias) + g·s·B(A(x))}, {@code g = m / ‖·‖} detached; merge and unmerge with the norm kept. The
 * references are plain Java loops in double precision, written from those formulas.
 */
class DoraTest {

    private static final double S = 6.0 / 3.0; // alpha 6, r 3

    private static AdapterSettings dora(int r, double alpha, double dropout, LoraInit init) {
        return new AdapterSettings(r, alpha, dropout, false, init, true);
    }

    /** A float64 layer [out 6, in 5] with a bias (or [in, out] when fan-in-fan-out). */
    private static Linear layer(boolean fanInFanOut, boolean withBias) {
        INDArray w = fanInFanOut ? TestArrays.normal(1, 5, 6) : TestArrays.normal(1, 6, 5);
        return new Linear(new Parameter(w), withBias ? new Parameter(TestArrays.normal(2, 6)) : null, fanInFanOut);
    }

    /** W as {@code [out][in]}, whatever the layer's layout. */
    private static double[][] outIn(Linear layer) {
        double[][] w = layer.weight().value().toDoubleMatrix();
        return layer.isFanInFanOut() ? transpose(w) : w;
    }

    /** PEFT's DoRA weight {@code m ⊙ (W + s·B·A) / ‖W + s·B·A‖}, rows = output features, from plain loops. */
    private static double[][] peftDoraWeight(double[][] w, double[][] a, double[][] b, double s, double[] m) {
        int out = w.length;
        int in = w[0].length;
        double[][] merged = new double[out][in];
        for (int o = 0; o < out; o++) {
            double norm = 0;
            for (int i = 0; i < in; i++) {
                double ba = 0;
                for (int k = 0; k < a.length; k++) {
                    ba += b[o][k] * a[k][i];
                }
                merged[o][i] = w[o][i] + s * ba;
                norm += merged[o][i] * merged[o][i];
            }
            norm = Math.sqrt(norm);
            for (int i = 0; i < in; i++) {
                merged[o][i] = m[o] * merged[o][i] / norm;
            }
        }
        return merged;
    }

    /** {@code x·W'ᵀ + bias}. */
    private static double[][] affine(double[][] x, double[][] w, double[] bias) {
        double[][] y = new double[x.length][w.length];
        for (int n = 0; n < x.length; n++) {
            for (int o = 0; o < w.length; o++) {
                double v = bias == null ? 0 : bias[o];
                for (int i = 0; i < w[0].length; i++) {
                    v += x[n][i] * w[o][i];
                }
                y[n][o] = v;
            }
        }
        return y;
    }

    private static double[][] transpose(double[][] m) {
        double[][] t = new double[m[0].length][m.length];
        for (int i = 0; i < m.length; i++) {
            for (int j = 0; j < m[0].length; j++) {
                t[j][i] = m[i][j];
            }
        }
        return t;
    }

    private static double maxAbsDiff(double[][] expected, INDArray actual) {
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            for (int j = 0; j < expected[0].length; j++) {
                worst = Math.max(worst, Math.abs(expected[i][j] - actual.getDouble(i, j)));
            }
        }
        return worst;
    }

    /** Gives the adapter a nonzero B and a magnitude away from its initial value, so every term matters. */
    private static LoraAdapter trainedLooking(LoraLinear lora, String name, AdapterSettings spec, long seed) {
        LoraAdapter adapter = lora.addAdapter(name, spec, new Random(seed));
        adapter.b().value().assign(TestArrays.normal(seed + 1, adapter.b().shape()).muli(0.5));
        adapter.magnitude().value().muli(TestArrays.uniform(seed + 2, 0.5, 1.5, adapter.magnitude().shape()));
        return adapter;
    }

    @Test
    void magnitudeStartsAtTheRowNormsAndTheOutputIsUnchangedAtStepZero() {
        for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE)) {
            Linear layer = new Linear(new Parameter(TestArrays.normal(3, 12, 16).castTo(type)),
                    new Parameter(TestArrays.normal(4, 12).castTo(type)), false);
            Tensor x = Tensor.constant(TestArrays.normal(5, 4, 7, 16).castTo(type));
            INDArray before = layer.forward(x).value().dup();
            LoraAdapter adapter = LoraLayers.attach(layer).addAdapter("default",
                    dora(4, 8, 0.1, LoraInit.KAIMING_UNIFORM), new Random(6));
            assertArrayEquals(new long[] {12}, adapter.magnitude().shape(), "m is [out]");
            assertEquals(type, adapter.magnitude().dataType());
            double[][] w = layer.weight().value().castTo(DataType.DOUBLE).toDoubleMatrix();
            for (int o = 0; o < 12; o++) {
                double norm = 0;
                for (double v : w[o]) {
                    norm += v * v;
                }
                assertEquals(Math.sqrt(norm), adapter.magnitude().value().getDouble(o), 1e-5 * Math.sqrt(norm), "m[" + o + "]");
            }
            layer.eval();
            assertEquals(before, layer.forward(x).value(), type + ": with B = 0, m/‖W‖ = 1 exactly and the output is bitwise the base's");
        }
    }

    @Test
    void randomInitStartsTheMagnitudeAtTheNormOfTheAdaptedWeight() {
        // PEFT takes ‖W + s·B·A‖ with the new factors; with init RANDOM B is not zero, and the DoRA
        // weight then equals W + s·B·A: the output is the plain LoRA output
        Linear layer = layer(false, true);
        LoraAdapter adapter = LoraLayers.attach(layer).addAdapter("default", dora(3, 6, 0, LoraInit.RANDOM), new Random(7));
        double[][] w = outIn(layer);
        double[][] a = adapter.a().value().toDoubleMatrix();
        double[][] b = adapter.b().value().toDoubleMatrix();
        double[] m = adapter.magnitude().value().toDoubleVector();
        for (int o = 0; o < 6; o++) {
            double norm = 0;
            for (int i = 0; i < 5; i++) {
                double ba = 0;
                for (int k = 0; k < 3; k++) {
                    ba += b[o][k] * a[k][i];
                }
                norm += (w[o][i] + S * ba) * (w[o][i] + S * ba);
            }
            assertEquals(Math.sqrt(norm), m[o], 1e-12, "m[" + o + "]");
        }
    }

    @Test
    void forwardMatchesPeftsFormulaInBothLayouts() {
        for (boolean fanInFanOut : new boolean[] {false, true}) {
            Linear layer = layer(fanInFanOut, true);
            LoraLinear lora = LoraLayers.attach(layer);
            LoraAdapter adapter = trainedLooking(lora, "default", dora(3, 6, 0, LoraInit.KAIMING_UNIFORM), 11);
            INDArray x = TestArrays.normal(12, 4, 5);
            INDArray y = layer.forward(Tensor.constant(x)).value();
            double[][] expected = affine(x.toDoubleMatrix(), peftDoraWeight(outIn(layer),
                    adapter.a().value().toDoubleMatrix(), adapter.b().value().toDoubleMatrix(), S,
                    adapter.magnitude().value().toDoubleVector()), layer.bias().value().toDoubleVector());
            double diff = maxAbsDiff(expected, y);
            assertTrue(diff < 1e-12, "fan_in_fan_out=" + fanInFanOut + ": y differs from x·W'ᵀ + b by " + diff
                    + " (float64, tolerance 1e-12)");
        }
    }

    @Test
    void float32ForwardMatchesTheFloat64Reference() {
        Linear layer = new Linear(new Parameter(TestArrays.normal(21, 24, 32).castTo(DataType.FLOAT)),
                new Parameter(TestArrays.normal(22, 24).castTo(DataType.FLOAT)), false);
        LoraLinear lora = LoraLayers.attach(layer);
        LoraAdapter adapter = trainedLooking(lora, "default", dora(4, 8, 0, LoraInit.KAIMING_UNIFORM), 23);
        INDArray x = TestArrays.normal(24, 6, 32).castTo(DataType.FLOAT);
        INDArray y = layer.forward(Tensor.constant(x)).value().castTo(DataType.DOUBLE);
        double[][] expected = affine(x.castTo(DataType.DOUBLE).toDoubleMatrix(),
                peftDoraWeight(layer.weight().value().castTo(DataType.DOUBLE).toDoubleMatrix(),
                        adapter.a().value().castTo(DataType.DOUBLE).toDoubleMatrix(),
                        adapter.b().value().castTo(DataType.DOUBLE).toDoubleMatrix(), 2.0,
                        adapter.magnitude().value().castTo(DataType.DOUBLE).toDoubleVector()),
                layer.bias().value().castTo(DataType.DOUBLE).toDoubleVector());
        double scale = y.amaxNumber().doubleValue();
        double diff = maxAbsDiff(expected, y);
        assertTrue(diff < 1e-5 * scale, "float32 output differs from the float64 reference by " + diff
                + " (tolerance 1e-5 × max|y| = " + 1e-5 * scale + ")");
    }

    @Test
    void withoutBiasTheBaseOutputIsUsedAsIs() {
        Linear layer = layer(false, false);
        LoraAdapter adapter = trainedLooking(LoraLayers.attach(layer), "default", dora(3, 6, 0, LoraInit.RANDOM), 31);
        INDArray x = TestArrays.normal(32, 3, 5);
        double[][] expected = affine(x.toDoubleMatrix(), peftDoraWeight(outIn(layer), adapter.a().value().toDoubleMatrix(),
                adapter.b().value().toDoubleMatrix(), S, adapter.magnitude().value().toDoubleVector()), null);
        assertTrue(maxAbsDiff(expected, layer.forward(Tensor.constant(x)).value()) < 1e-12);
    }

    @Test
    void trainingDropoutFeedsTheDroppedInputToBothDoraTerms() {
        // PEFT, with dropout active: result = x·Wᵀ + b + (g − 1)·(x̃·Wᵀ) + g·s·x̃·Aᵀ·Bᵀ = x·Wᵀ + b + x̃·(W' − W)ᵀ,
        // x̃ = dropout(x). A twin layer built from the same seeds draws the same mask.
        AdapterSettings spec = dora(3, 6, 0.4, LoraInit.RANDOM);
        Linear layer = layer(false, true);
        Linear twin = layer(false, true);
        LoraAdapter adapter = trainedLooking(LoraLayers.attach(layer), "default", spec, 41);
        LoraAdapter twinAdapter = trainedLooking(LoraLayers.attach(twin), "default", spec, 41);
        INDArray x = TestArrays.normal(42, 8, 5);
        layer.train();
        INDArray y = layer.forward(Tensor.constant(x)).value();
        INDArray dropped = Functional.dropout(Tensor.constant(x), 0.4, twinAdapter.dropoutRandom()).value();
        assertFalse(dropped.equals(x), "the mask dropped something");
        double[][] w = outIn(layer);
        double[][] wDora = peftDoraWeight(w, adapter.a().value().toDoubleMatrix(), adapter.b().value().toDoubleMatrix(), S,
                adapter.magnitude().value().toDoubleVector());
        double[][] change = new double[6][5];
        for (int o = 0; o < 6; o++) {
            for (int i = 0; i < 5; i++) {
                change[o][i] = wDora[o][i] - w[o][i];
            }
        }
        double[][] base = affine(x.toDoubleMatrix(), w, layer.bias().value().toDoubleVector());
        double[][] extra = affine(dropped.toDoubleMatrix(), change, null);
        double[][] expected = new double[8][6];
        for (int n = 0; n < 8; n++) {
            for (int o = 0; o < 6; o++) {
                expected[n][o] = base[n][o] + extra[n][o];
            }
        }
        assertTrue(maxAbsDiff(expected, y) < 1e-12, "training output with dropout differs by " + maxAbsDiff(expected, y));
    }

    @Test
    void adaptersApplyInOrderAsInPeftSoADoraAdapterScalesAPlainOneBeforeIt() {
        // PEFT: result = base(x) + s1·B1·A1·x (plain), then result += (g − 1)·(result − bias) + g·s2·B2·A2·x
        Linear layer = layer(false, true);
        LoraLinear lora = LoraLayers.attach(layer);
        LoraAdapter plain = lora.addAdapter("plain", new AdapterSettings(2, 3, 0, false, LoraInit.RANDOM), new Random(51));
        LoraAdapter doraAdapter = trainedLooking(lora, "dora", dora(3, 6, 0, LoraInit.KAIMING_UNIFORM), 52);
        lora.setActive(List.of("plain", "dora"));
        INDArray x = TestArrays.normal(53, 4, 5);
        INDArray y = layer.forward(Tensor.constant(x)).value();
        double[][] w = outIn(layer);
        double[][] wPlain = new double[6][5]; // W + s1·B1·A1
        double[][] a1 = plain.a().value().toDoubleMatrix();
        double[][] b1 = plain.b().value().toDoubleMatrix();
        for (int o = 0; o < 6; o++) {
            for (int i = 0; i < 5; i++) {
                double ba = 0;
                for (int k = 0; k < 2; k++) {
                    ba += b1[o][k] * a1[k][i];
                }
                wPlain[o][i] = w[o][i] + 1.5 * ba;
            }
        }
        double[][] wDora = peftDoraWeight(w, doraAdapter.a().value().toDoubleMatrix(),
                doraAdapter.b().value().toDoubleMatrix(), S, doraAdapter.magnitude().value().toDoubleVector());
        double[] bias = layer.bias().value().toDoubleVector();
        double[][] resultNoBias = affine(x.toDoubleMatrix(), wPlain, null);
        double[][] doraNoBias = affine(x.toDoubleMatrix(), wDora, null);
        double[][] baseNoBias = affine(x.toDoubleMatrix(), w, null);
        double[] norms = doraNorms(w, doraAdapter);
        double[] m = doraAdapter.magnitude().value().toDoubleVector();
        double[][] expected = new double[4][6];
        for (int n = 0; n < 4; n++) {
            for (int o = 0; o < 6; o++) {
                double g = m[o] / norms[o];
                // g·s2·B2A2x = doraNoBias − g·W·x
                double loraTerm = doraNoBias[n][o] - g * baseNoBias[n][o];
                expected[n][o] = resultNoBias[n][o] + bias[o] + (g - 1) * resultNoBias[n][o] + loraTerm;
            }
        }
        assertTrue(maxAbsDiff(expected, y) < 1e-12, "plain-then-DoRA output differs by " + maxAbsDiff(expected, y));
    }

    private static double[] doraNorms(double[][] w, LoraAdapter adapter) {
        double[][] a = adapter.a().value().toDoubleMatrix();
        double[][] b = adapter.b().value().toDoubleMatrix();
        double s = adapter.scaling();
        double[] norms = new double[w.length];
        for (int o = 0; o < w.length; o++) {
            for (int i = 0; i < w[0].length; i++) {
                double ba = 0;
                for (int k = 0; k < a.length; k++) {
                    ba += b[o][k] * a[k][i];
                }
                norms[o] += (w[o][i] + s * ba) * (w[o][i] + s * ba);
            }
            norms[o] = Math.sqrt(norms[o]);
        }
        return norms;
    }

    // ---- gradients ------------------------------------------------------------------------------

    @Test
    void gradientOfTheInputAndTheMagnitudeAgainstFiniteDifferences() {
        // neither x nor m enters the weight norm, so finite differences through the layer itself are valid
        for (boolean fanInFanOut : new boolean[] {false, true}) {
            Linear layer = layer(fanInFanOut, true);
            layer.freeze();
            LoraAdapter adapter = trainedLooking(LoraLayers.attach(layer), "default", dora(3, 6, 0, LoraInit.KAIMING_UNIFORM), 61);
            Tensor x = Tensor.variable(TestArrays.normal(62, 2, 3, 5));
            GradientCheck.of(() -> layer.forward(x)).input("x", x).input("lora_magnitude_vector", adapter.magnitude()).verify();
        }
    }

    /**
     * PEFT's DoRA output with the weight norm frozen at {@code norm}, from Functional's primitives:
     * the reference the finite differences of A and B are taken on (the layer recomputes the norm
     * from A and B, which with the norm detached must not count in the gradient).
     */
    private static Tensor frozenNormForward(Tensor x, Linear layer, LoraAdapter adapter, INDArray norm) {
        Tensor base = Functional.linear(x, layer.weight(), null, layer.isFanInFanOut());
        Tensor withBias = Functional.linear(x, layer.weight(), layer.bias(), layer.isFanInFanOut());
        Tensor lora = Functional.loraDelta(x, adapter.a(), adapter.b(), adapter.scaling());
        return withBias.add(Functional.doraTerm(base, lora, adapter.magnitude(), norm));
    }

    @Test
    void gradientsOfTheFactorsAgainstFiniteDifferencesWithTheNormFrozen() {
        for (boolean fanInFanOut : new boolean[] {false, true}) {
            Linear layer = layer(fanInFanOut, true);
            layer.freeze();
            LoraLinear lora = LoraLayers.attach(layer);
            LoraAdapter adapter = trainedLooking(lora, "default", dora(3, 6, 0, LoraInit.KAIMING_UNIFORM), 71);
            INDArray norm = lora.doraWeightNorm(adapter).dup();
            Tensor x = Tensor.variable(TestArrays.normal(72, 4, 5));
            // 1. the frozen-norm reference against finite differences: A, B, m, x and the bias
            GradientCheck.of(() -> frozenNormForward(x, layer, adapter, norm))
                    .input("x", x).input("lora_A", adapter.a()).input("lora_B", adapter.b())
                    .input("lora_magnitude_vector", adapter.magnitude()).verify();
            Map<String, INDArray> reference = gradients(x, adapter);
            // 2. the layer's backward gives the same gradients (its norm is detached)
            INDArray r = TestArrays.normal(73, 4, 6);
            clear(x, adapter);
            layer.forward(x).backward(r);
            Map<String, INDArray> fromLayer = gradients(x, adapter);
            clear(x, adapter);
            frozenNormForward(x, layer, adapter, norm).backward(r);
            Map<String, INDArray> fromReference = gradients(x, adapter);
            fromReference.forEach((name, g) -> {
                double diff = g.sub(fromLayer.get(name)).amaxNumber().doubleValue();
                assertTrue(diff < 1e-12, "fan_in_fan_out=" + fanInFanOut + ": the layer's gradient of " + name
                        + " differs from the frozen-norm reference's by " + diff);
            });
            assertEquals(4, reference.size());
            assertNull(layer.weight().grad(), "the frozen base weight gets no gradient");
        }
    }

    private static Map<String, INDArray> gradients(Tensor x, LoraAdapter adapter) {
        return Map.of("x", x.grad().dup(), "A", adapter.a().grad().dup(), "B", adapter.b().grad().dup(),
                "m", adapter.magnitude().grad().dup());
    }

    private static void clear(Tensor x, LoraAdapter adapter) {
        x.clearGrad();
        adapter.a().clearGrad();
        adapter.b().clearGrad();
        adapter.magnitude().clearGrad();
    }

    @Test
    void theDetachedNormMakesTheLayerGradientDifferFromTheFullDerivative() {
        // guards the reference: finite differences through the layer (norm recomputed from A and B)
        // must NOT match its backward, or the test above would prove nothing about detaching
        Linear layer = layer(false, true);
        layer.freeze();
        LoraAdapter adapter = trainedLooking(LoraLayers.attach(layer), "default", dora(3, 6, 0, LoraInit.KAIMING_UNIFORM), 81);
        Tensor x = Tensor.constant(TestArrays.normal(82, 4, 5));
        GradientCheck.Result result = GradientCheck.of(() -> layer.forward(x)).input("lora_B", adapter.b()).run();
        assertFalse(result.passed(), "the layer's B gradient ignores the norm's dependence on B, as PEFT's does");
    }

    @Test
    void theMagnitudeTrainsWithTheFactorsAndIsNamedAsInPeft() {
        Linear layer = layer(false, true);
        LoraLinear lora = LoraLayers.attach(layer);
        LoraAdapter first = lora.addAdapter("first", dora(3, 6, 0, LoraInit.KAIMING_UNIFORM), new Random(91));
        LoraAdapter second = lora.addAdapter("second", dora(2, 2, 0, LoraInit.KAIMING_UNIFORM), new Random(92));
        Map<String, Parameter> names = layer.namedParameters();
        assertTrue(names.get("lora_magnitude_vector.first.weight") == first.magnitude());
        assertTrue(names.get("lora_magnitude_vector.second.weight") == second.magnitude());
        assertTrue(first.magnitude().isTrainable());
        assertFalse(second.magnitude().isTrainable(), "an inactive adapter's magnitude is frozen");
        lora.setActive(List.of("second"));
        assertFalse(first.magnitude().isTrainable());
        assertTrue(second.magnitude().isTrainable());
        assertThrows(IllegalStateException.class,
                () -> lora.addAdapter("plain", new AdapterSettings(2, 2, 0, false, LoraInit.RANDOM), new Random(3)).magnitude());
    }

    // ---- merging --------------------------------------------------------------------------------

    @Test
    void mergeGivesPeftsWeightAndTheSameOutputAndUnmergeRestoresW() {
        for (boolean fanInFanOut : new boolean[] {false, true}) {
            Linear layer = layer(fanInFanOut, true);
            INDArray original = layer.weight().value().dup();
            LoraLinear lora = LoraLayers.attach(layer);
            LoraAdapter adapter = trainedLooking(lora, "default", dora(3, 6, 0, LoraInit.KAIMING_UNIFORM), 101);
            Tensor x = Tensor.constant(TestArrays.normal(102, 4, 5));
            INDArray unmerged = layer.forward(x).value().dup();
            double[][] expected = peftDoraWeight(outIn(layer), adapter.a().value().toDoubleMatrix(),
                    adapter.b().value().toDoubleMatrix(), S, adapter.magnitude().value().toDoubleVector());
            lora.merge(List.of("default"));
            double[][] mergedOutIn = outIn(layer);
            double diff = 0;
            for (int o = 0; o < 6; o++) {
                for (int i = 0; i < 5; i++) {
                    diff = Math.max(diff, Math.abs(expected[o][i] - mergedOutIn[o][i]));
                }
            }
            assertTrue(diff < 1e-12, "merged W differs from m ⊙ (W + sBA)/‖W + sBA‖ by " + diff);
            INDArray merged = layer.forward(x).value();
            assertTrue(LoraLinearTest.maxAbsDiff(unmerged, merged) < 1e-12, "merged forward = unmerged forward");
            lora.unmerge(List.of("default"));
            assertTrue(LoraLinearTest.maxAbsDiff(original, layer.weight().value()) < 1e-12, "unmerge restores W");
            assertTrue(LoraLinearTest.maxAbsDiff(unmerged, layer.forward(x).value()) < 1e-12);
        }
    }

    @Test
    void float32MergeRoundTrip() {
        Linear layer = new Linear(new Parameter(TestArrays.normal(111, 48, 64).castTo(DataType.FLOAT)),
                new Parameter(TestArrays.normal(112, 48).castTo(DataType.FLOAT)), false);
        INDArray original = layer.weight().value().dup();
        LoraLinear lora = LoraLayers.attach(layer);
        trainedLooking(lora, "default", dora(8, 16, 0, LoraInit.KAIMING_UNIFORM), 113);
        Tensor x = Tensor.constant(TestArrays.normal(114, 10, 64).castTo(DataType.FLOAT));
        INDArray unmerged = layer.forward(x).value().dup();
        lora.merge(List.of("default"));
        double scale = unmerged.amaxNumber().doubleValue();
        assertTrue(LoraLinearTest.maxAbsDiff(unmerged, layer.forward(x).value()) < 1e-5 * scale,
                "float32: merged vs unmerged within 1e-5 × max|y|");
        lora.unmerge(List.of("default"));
        assertTrue(LoraLinearTest.maxAbsDiff(original, layer.weight().value()) < 1e-5,
                "float32: unmerge restores W within 1e-5, got " + LoraLinearTest.maxAbsDiff(original, layer.weight().value()));
    }

    @Test
    void twoMergedAdaptersUnmergeInReverseOrderWhateverTheOrderAsked() {
        Linear layer = layer(false, true);
        INDArray original = layer.weight().value().dup();
        LoraLinear lora = LoraLayers.attach(layer);
        trainedLooking(lora, "a", dora(3, 6, 0, LoraInit.KAIMING_UNIFORM), 121);
        lora.addAdapter("b", new AdapterSettings(2, 4, 0, false, LoraInit.RANDOM), new Random(122));
        trainedLooking(lora, "c", dora(2, 3, 0, LoraInit.KAIMING_UNIFORM), 123);
        lora.setActive(List.of("a", "b", "c"));
        Tensor x = Tensor.constant(TestArrays.normal(124, 4, 5));
        INDArray unmerged = layer.forward(x).value().dup();
        lora.merge(List.of("a", "b", "c"));
        // the sequential merge stands for the sequential forward exactly when each DoRA norm is taken
        // on the weight merged so far; the forward takes it on W, so only a single adapter must agree.
        lora.unmerge(List.of("a", "b", "c"));
        assertTrue(LoraLinearTest.maxAbsDiff(original, layer.weight().value()) < 1e-12, "unmerge restores W");
        assertTrue(LoraLinearTest.maxAbsDiff(unmerged, layer.forward(x).value()) < 1e-12);
    }

    @Test
    void safeMergeThroughTheModelKeepsWhatUnmergeNeeds() {
        Net net = new Net();
        INDArray original = net.fc.weight().value().dup();
        LoraModel<Net> model = LoraModel.wrap(net, LoraModel.DEFAULT_ADAPTER, LoraConfig.builder().rank(2).alpha(4).dora(true)
                .init(LoraInit.RANDOM).targetModules("fc").seed(3).build());
        Tensor x = Tensor.constant(TestArrays.normal(131, 3, 5));
        INDArray before = net.forward(x).value().dup();
        model.safeMerge();
        assertTrue(LoraLinearTest.maxAbsDiff(before, net.forward(x).value()) < 1e-12);
        model.unmerge();
        assertTrue(LoraLinearTest.maxAbsDiff(original, net.fc.weight().value()) < 1e-12);
        model.merge();
        model.deleteAdapter("default");
        assertTrue(LoraLinearTest.maxAbsDiff(original, net.fc.weight().value()) < 1e-12, "deleting unmerges first");
    }

    // ---- configuration and refusals ---------------------------------------------------------------

    /** A Linear and an Embedding, float64. */
    static final class Net extends Module {
        final Linear fc = layer(false, true);
        final Embedding tokens = new Embedding(new Parameter(TestArrays.normal(141, 7, 5)));

        Tensor forward(Tensor x) {
            return fc.forward(x);
        }
    }

    @Test
    void theConfigCarriesDoraToEveryLayerSpec() {
        LoraConfig config = LoraConfig.builder().rank(4).dora(true).targetModules("fc").rankPattern("fc", 2).build();
        assertTrue(config.dora());
        assertTrue(config.settingsFor("fc").dora());
        assertTrue(config.toBuilder().build().dora());
        assertFalse(LoraConfig.builder().targetModules("fc").build().dora(), "off by default, as in PEFT");
        LoraModel<Net> model = LoraModel.wrap(new Net(), LoraModel.DEFAULT_ADAPTER, config);
        assertTrue(model.layers().get("fc").adapter("default").isDora());
        assertTrue(model.summary().trainable() > 0);
    }

    /** A Linear and a grouped Conv2d. */
    static final class GroupedNet extends Module {
        final Linear fc = layer(false, true);
        final Conv2d grouped = new Conv2d(new Parameter(TestArrays.normal(171, 4, 1, 3, 3)), null, ConvGeometry.of(1, 1, 1, 2));
    }

    @Test
    void doraOnAGroupedConvolutionIsRefusedNamingTheModule() {
        GroupedNet net = new GroupedNet();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoraModel.wrap(net, LoraModel.DEFAULT_ADAPTER,
                LoraConfig.builder().rank(2).dora(true).targetModules("fc", "grouped").build()));
        assertTrue(e.getMessage().contains("grouped") && e.getMessage().contains("DoRA")
                && e.getMessage().contains("ungrouped Conv2d"), e.getMessage());
        assertNull(LoraLayers.of(net.grouped), "the convolution is left without adapters");
    }

    // ---- convolutions -------------------------------------------------------------------------------

    private static final ConvGeometry PAD1 = ConvGeometry.of(1, 1);

    /** A float64 3×3 convolution 2 → 4 channels, padding 1, with a bias. */
    private static Conv2d conv() {
        return new Conv2d(new Parameter(TestArrays.normal(181, 4, 2, 3, 3)), new Parameter(TestArrays.normal(182, 4)), PAD1);
    }

    /** PEFT's DoRA kernel {@code m ⊙ (W + s·B·A) / ‖W + s·B·A‖}, the norm per output channel, from plain loops. */
    private static INDArray peftDoraKernel(Conv2d conv, LoraAdapter adapter) {
        long[] shape = conv.weight().shape();
        int out = (int) shape[0];
        int rest = (int) (shape[1] * shape[2] * shape[3]);
        double[][] w = conv.weight().value().reshape('c', out, rest).toDoubleMatrix();
        double[][] a = adapter.a().value().reshape('c', adapter.a().size(0), rest).toDoubleMatrix();
        double[][] b = adapter.b().value().reshape('c', out, adapter.b().size(1)).toDoubleMatrix();
        double[] m = adapter.magnitude().value().reshape(out).toDoubleVector();
        double[][] merged = peftDoraWeight(w, a, b, adapter.scaling(), m);
        return org.nd4j.linalg.factory.Nd4j.create(merged).reshape('c', shape);
    }

    private static LoraAdapter trainedLookingConv(LoraConv2d lora, AdapterSettings spec, long seed) {
        LoraAdapter adapter = lora.addAdapter("default", spec, new Random(seed));
        adapter.b().value().assign(TestArrays.normal(seed + 1, adapter.b().shape()).muli(0.5));
        adapter.magnitude().value().muli(TestArrays.uniform(seed + 2, 0.5, 1.5, adapter.magnitude().shape()));
        return adapter;
    }

    @Test
    void convolutionStartsAtTheBaseAndComputesPeftsDoraKernel() {
        Conv2d conv = conv();
        Tensor x = Tensor.constant(TestArrays.normal(183, 2, 2, 5, 5));
        INDArray before = conv.forward(x).value().dup();
        LoraConv2d lora = LoraLayers.attach(conv);
        LoraAdapter adapter = lora.addAdapter("default", dora(3, 6, 0, LoraInit.KAIMING_UNIFORM), new Random(184));
        assertArrayEquals(new long[] {1, 4, 1, 1}, adapter.magnitude().shape(), "m is [1, out, 1, 1], PEFT's shape");
        assertEquals(before, conv.forward(x).value(), "B = 0: the output is bitwise the base's");
        adapter.b().value().assign(TestArrays.normal(185, 4, 3, 1, 1).muli(0.5));
        adapter.magnitude().value().muli(TestArrays.uniform(186, 0.5, 1.5, 1, 4, 1, 1));
        INDArray kernel = peftDoraKernel(conv, adapter);
        INDArray expected = NaiveConv.conv2d(x.value(), kernel, conv.bias().value(), PAD1);
        INDArray y = conv.forward(x).value();
        assertTrue(LoraLinearTest.maxAbsDiff(expected, y) < 1e-12, "conv output differs from PEFT's DoRA kernel's by "
                + LoraLinearTest.maxAbsDiff(expected, y) + " (float64, tolerance 1e-12)");

        INDArray original = conv.weight().value().dup();
        lora.merge(List.of("default"));
        assertTrue(LoraLinearTest.maxAbsDiff(kernel, conv.weight().value()) < 1e-12, "the merged kernel is PEFT's");
        assertTrue(LoraLinearTest.maxAbsDiff(y, conv.forward(x).value()) < 1e-12, "merged output = unmerged output");
        lora.unmerge(List.of("default"));
        assertTrue(LoraLinearTest.maxAbsDiff(original, conv.weight().value()) < 1e-12, "unmerge restores the kernel");
    }

    @Test
    void convolutionTrainingDropoutFeedsTheDroppedInputToBothDoraTerms() {
        AdapterSettings spec = dora(3, 6, 0.4, LoraInit.RANDOM);
        Conv2d conv = conv();
        Conv2d twin = conv();
        LoraAdapter adapter = trainedLookingConv(LoraLayers.attach(conv), spec, 191);
        LoraAdapter twinAdapter = trainedLookingConv(LoraLayers.attach(twin), spec, 191);
        INDArray x = TestArrays.normal(192, 2, 2, 5, 5);
        conv.train();
        INDArray y = conv.forward(Tensor.constant(x)).value();
        INDArray dropped = Functional.dropout(Tensor.constant(x), 0.4, twinAdapter.dropoutRandom()).value();
        INDArray change = peftDoraKernel(conv, adapter).sub(conv.weight().value());
        INDArray expected = NaiveConv.conv2d(x, conv.weight().value(), conv.bias().value(), PAD1)
                .add(NaiveConv.conv2d(dropped, change, null, PAD1));
        assertTrue(LoraLinearTest.maxAbsDiff(expected, y) < 1e-12, "training output with dropout differs by "
                + LoraLinearTest.maxAbsDiff(expected, y));
    }

    @Test
    void convolutionGradientsAgainstFiniteDifferencesWithTheNormFrozen() {
        Conv2d conv = conv();
        conv.freeze();
        LoraConv2d lora = LoraLayers.attach(conv);
        LoraAdapter adapter = trainedLookingConv(lora, dora(3, 6, 0, LoraInit.KAIMING_UNIFORM), 201);
        Tensor x = Tensor.variable(TestArrays.normal(202, 2, 2, 4, 4));
        // neither x nor m enters the norm: finite differences through the layer itself
        GradientCheck.of(() -> conv.forward(x)).input("x", x).input("lora_magnitude_vector", adapter.magnitude()).verify();
        INDArray norm = lora.doraWeightNorm(adapter).dup();
        java.util.function.Supplier<Tensor> frozen = () -> {
            Tensor withBias = Functional.conv2d(x, conv.weight(), conv.bias(), PAD1);
            Tensor base = Functional.conv2d(x, conv.weight(), null, PAD1);
            Tensor loraOut = Functional.loraConv2d(x, adapter.a(), adapter.b(), adapter.scaling(), PAD1);
            return withBias.add(Functional.doraTerm(base, loraOut, adapter.magnitude(), norm, 1));
        };
        GradientCheck.of(frozen).input("x", x).input("lora_A", adapter.a()).input("lora_B", adapter.b())
                .input("lora_magnitude_vector", adapter.magnitude()).verify();
        INDArray r = TestArrays.normal(203, 2, 4, 4, 4);
        clear(x, adapter);
        conv.forward(x).backward(r);
        Map<String, INDArray> fromLayer = gradients(x, adapter);
        clear(x, adapter);
        frozen.get().backward(r);
        Map<String, INDArray> fromReference = gradients(x, adapter);
        fromReference.forEach((name, g) -> {
            double diff = g.sub(fromLayer.get(name)).amaxNumber().doubleValue();
            assertTrue(diff < 1e-12, "the convolution's gradient of " + name + " differs from the frozen-norm reference's by "
                    + diff);
        });
    }

    // ---- embeddings ---------------------------------------------------------------------------------

    private static final INDArray IDS = org.nd4j.linalg.factory.Nd4j.createFromArray(new int[][] {{1, 4, 6, 1}, {0, 3, 5, 2}});

    /** PEFT's DoRA table {@code m ⊙ (W + s·(B·A)ᵀ) / ‖·‖}, the norm per column (embedding dimension). */
    private static double[][] peftDoraTable(double[][] w, double[][] a, double[][] b, double s, double[] m) {
        // the table's transpose [dim, vocabulary] is W' in PyTorch's [out, in] layout, with ΔW = B·A
        double[][] rowsAreDims = peftDoraWeight(transpose(w), a, b, s, m);
        return transpose(rowsAreDims);
    }

    @Test
    void embeddingStartsAtTheBaseAndLooksUpPeftsDoraTable() {
        Embedding table = new Embedding(new Parameter(TestArrays.normal(151, 7, 5)));
        Tensor before = table.forward(IDS);
        LoraEmbedding lora = LoraLayers.attach(table);
        LoraAdapter adapter = lora.addAdapter("default", dora(3, 6, 0, LoraInit.KAIMING_UNIFORM), new Random(152));
        assertArrayEquals(new long[] {5}, adapter.magnitude().shape(), "m is [dim]");
        assertEquals(before.value(), table.forward(IDS).value(), "A = 0: the output is bitwise the base's");
        adapter.a().value().assign(TestArrays.normal(153, 3, 7));
        adapter.magnitude().value().muli(TestArrays.uniform(154, 0.5, 1.5, 5));
        double[][] expected = peftDoraTable(table.weight().value().toDoubleMatrix(), adapter.a().value().toDoubleMatrix(),
                adapter.b().value().toDoubleMatrix(), S, adapter.magnitude().value().toDoubleVector());
        INDArray y = table.forward(IDS).value();
        double diff = 0;
        for (int n = 0; n < 2; n++) {
            for (int t = 0; t < 4; t++) {
                for (int d = 0; d < 5; d++) {
                    diff = Math.max(diff, Math.abs(expected[IDS.getInt(n, t)][d] - y.getDouble(n, t, d)));
                }
            }
        }
        assertTrue(diff < 1e-12, "lookup differs from PEFT's DoRA table by " + diff);

        INDArray original = table.weight().value().dup();
        lora.merge(List.of("default"));
        double merged = 0;
        for (int v = 0; v < 7; v++) {
            for (int d = 0; d < 5; d++) {
                merged = Math.max(merged, Math.abs(expected[v][d] - table.weight().value().getDouble(v, d)));
            }
        }
        assertTrue(merged < 1e-12, "the merged table is PEFT's, off by " + merged);
        assertTrue(LoraLinearTest.maxAbsDiff(y, table.forward(IDS).value()) < 1e-12, "merged lookup = unmerged lookup");
        lora.unmerge(List.of("default"));
        assertTrue(LoraLinearTest.maxAbsDiff(original, table.weight().value()) < 1e-12, "unmerge restores the table");
    }

    @Test
    void embeddingGradientsAgainstFiniteDifferencesWithTheNormFrozen() {
        Embedding table = new Embedding(new Parameter(TestArrays.normal(161, 7, 5)));
        table.freeze();
        LoraEmbedding lora = LoraLayers.attach(table);
        LoraAdapter adapter = lora.addAdapter("default", dora(3, 6, 0, LoraInit.RANDOM), new Random(162));
        adapter.magnitude().value().muli(TestArrays.uniform(163, 0.5, 1.5, 5));
        // m does not enter the norm: finite differences through the layer itself
        GradientCheck.of(() -> table.forward(IDS)).input("lora_magnitude_vector", adapter.magnitude()).verify();
        INDArray norm = lora.doraWeightNorm(adapter).dup();
        java.util.function.Supplier<Tensor> frozen = () -> {
            Tensor base = Functional.embedding(IDS, table.weight());
            Tensor loraOut = Functional.embedding(IDS, adapter.a().transpose()).matmulTransposed(adapter.b())
                    .mul(adapter.scaling());
            return base.add(Functional.doraTerm(base, loraOut, adapter.magnitude(), norm));
        };
        GradientCheck.of(frozen).input("lora_embedding_A", adapter.a()).input("lora_embedding_B", adapter.b())
                .input("lora_magnitude_vector", adapter.magnitude()).verify();
        INDArray r = TestArrays.normal(164, 2, 4, 5);
        Tensor x = Tensor.constant(r); // unused input slot
        clear(x, adapter);
        table.forward(IDS).backward(r);
        Map<String, INDArray> fromLayer = Map.of("A", adapter.a().grad().dup(), "B", adapter.b().grad().dup(),
                "m", adapter.magnitude().grad().dup());
        clear(x, adapter);
        frozen.get().backward(r);
        fromLayer.forEach((name, g) -> {
            INDArray reference = name.equals("A") ? adapter.a().grad() : name.equals("B") ? adapter.b().grad()
                    : adapter.magnitude().grad();
            double diff = g.sub(reference).amaxNumber().doubleValue();
            assertTrue(diff < 1e-12, "the embedding's gradient of " + name + " differs from the frozen-norm reference's by " + diff);
        });
    }

    /** A model whose layers carry {@code @LoRA(dora = true)}. */
    static final class Annotated extends Module {
        @LoRA(rank = 2, alpha = 4, dora = true)
        final Linear fc = layer(false, true);
        @LoRA(rank = 2)
        final Linear plain = layer(false, false);
    }

    @Test
    void theAnnotationAsksForDora() {
        Annotated model = new Annotated();
        LoraModel<Annotated> lora = dev.lora4j.Lora.inject(model);
        assertTrue(lora.layers().get("fc").adapter("default").isDora());
        assertFalse(lora.layers().get("plain").adapter("default").isDora());
        assertTrue(model.namedParameters().get("fc.lora_magnitude_vector.default.weight").isTrainable());
        assertTrue(AdapterSettings.of(field(Annotated.class, "fc").getAnnotation(LoRA.class)).dora());
        // one adapter with DoRA on some layers only is not a PEFT adapter (use_dora is one setting)
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> dev.lora4j.io.AdapterFiles.peftConfig(lora, "default", dev.lora4j.io.AdapterSaveOptions.defaults()));
        assertTrue(e.getMessage().contains("fc") && e.getMessage().contains("plain") && e.getMessage().contains("use_dora"),
                e.getMessage());
    }

    private static java.lang.reflect.Field field(Class<?> type, String name) {
        try {
            return type.getDeclaredField(name);
        } catch (NoSuchFieldException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void doraAdaptersAreNotCombined() {
        LoraModel<Net> model = LoraModel.wrap(new Net(), LoraModel.DEFAULT_ADAPTER, LoraConfig.builder().rank(2).dora(true).targetModules("fc").build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> model.addWeightedAdapter(List.of("default"), List.of(1.0), "sum", CombinationType.LINEAR));
        assertTrue(e.getMessage().contains("DoRA") && e.getMessage().contains("fc"), e.getMessage());
    }
}
