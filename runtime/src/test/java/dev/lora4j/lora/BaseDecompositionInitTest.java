package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.LoraInit;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.lora.internal.BaseDecomposition;
import dev.lora4j.nn.Conv2d;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.TestArrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * PiSSA and OLoRA on a Linear layer, as PEFT's {@code pissa_init}/{@code olora_init} leave it: the
 * factors from the base weight ({@link BaseDecomposition}, tested against LAPACK in its own test),
 * the residual {@code W − s·B·A} in the base weight, and so the output unchanged at step 0; a
 * saved adapter's factors loaded on top of the recomputed residual; DoRA's magnitude from the
 * residual plus the adapter; and clear refusals where PEFT does not implement them.
 */
class BaseDecompositionInitTest {

    private static final List<AdapterSettings> SPECS = List.of(
            new AdapterSettings(3, 6, 0, false, LoraInit.PISSA),
            new AdapterSettings(3, 6, 0, false, LoraInit.PISSA, false, 2),
            new AdapterSettings(2, 8, 0, true, LoraInit.PISSA),
            new AdapterSettings(3, 6, 0, false, LoraInit.OLORA),
            new AdapterSettings(2, 8, 0, true, LoraInit.OLORA));

    /** A layer [out 6, in 5] (stored [5, 6] when fan-in-fan-out) with a bias. */
    private static Linear layer(DataType type, boolean fanInFanOut) {
        INDArray w = fanInFanOut ? TestArrays.normal(1, 5, 6) : TestArrays.normal(1, 6, 5);
        return new Linear(new Parameter(w.castTo(type)), new Parameter(TestArrays.normal(2, 6).castTo(type)), fanInFanOut);
    }

    private static double[][] outIn(INDArray stored, boolean fanInFanOut) {
        INDArray w = stored.castTo(DataType.DOUBLE);
        return (fanInFanOut ? w.transpose() : w).toDoubleMatrix();
    }

    @Test
    void outputIsUnchangedAtStepZero() {
        for (AdapterSettings spec : SPECS) {
            for (boolean fanInFanOut : new boolean[] {false, true}) {
                if (fanInFanOut && spec.init() == LoraInit.OLORA) {
                    continue;
                }
                for (DataType type : List.of(DataType.DOUBLE, DataType.FLOAT)) {
                    Linear layer = layer(type, fanInFanOut);
                    Tensor x = Tensor.constant(TestArrays.normal(3, 4, 5).castTo(type));
                    INDArray before = layer.forward(x).value().castTo(DataType.DOUBLE);
                    LoraLayers.attach(layer).addAdapter("default", spec, new Random(4));
                    INDArray after = layer.forward(x).value().castTo(DataType.DOUBLE);
                    double tol = type == DataType.DOUBLE ? 1e-12 : 1e-5;
                    double diff = after.sub(before).amaxNumber().doubleValue();
                    assertTrue(diff < tol, spec + " " + type + " fanInFanOut=" + fanInFanOut + ": output moved by " + diff);
                    assertTrue(layer.forward(x).value().castTo(DataType.DOUBLE).equalsWithEps(after, 0));
                }
            }
        }
    }

    @Test
    void factorsAreTheDecompositionAndTheResidualIsLeftInTheBase() {
        for (AdapterSettings spec : SPECS) {
            for (boolean fanInFanOut : new boolean[] {false, true}) {
                if (fanInFanOut && spec.init() == LoraInit.OLORA) {
                    continue;
                }
                Linear layer = layer(DataType.DOUBLE, fanInFanOut);
                double[][] w = outIn(layer.weight().value(), fanInFanOut);
                LoraAdapter adapter = LoraLayers.attach(layer).addAdapter("default", spec, new Random(4));
                double[][][] expected = BaseDecomposition.factors(w, spec, new Random(4));
                assertClose(expected[0], adapter.a().value().toDoubleMatrix(), 0);
                assertClose(expected[1], adapter.b().value().toDoubleMatrix(), 0);
                double[][] a = expected[0];
                double[][] b = expected[1];
                double s = spec.scaling();
                double[][] residual = outIn(layer.weight().value(), fanInFanOut);
                for (int o = 0; o < 6; o++) {
                    for (int i = 0; i < 5; i++) {
                        double ba = 0;
                        for (int c = 0; c < spec.rank(); c++) {
                            ba += b[o][c] * a[c][i];
                        }
                        assertEquals(w[o][i] - s * ba, residual[o][i], 1e-14, spec + " residual[" + o + "][" + i + "]");
                    }
                }
                INDArray[] initial = adapter.initialFactors();
                assertNotNull(initial);
                assertEquals(adapter.a().value(), initial[0]);
                assertEquals(adapter.b().value(), initial[1]);
            }
        }
    }

    @Test
    void loadedFactorsApplyToTheRecomputedResidual() {
        // PEFT's load_adapter reruns pissa_init on the original base and then loads the saved A and B
        AdapterSettings spec = new AdapterSettings(3, 6, 0, false, LoraInit.PISSA);
        Linear fresh = layer(DataType.DOUBLE, false);
        double[][] w = outIn(fresh.weight().value(), false);
        LoraLayer lora = LoraLayers.attach(fresh);
        LoraAdapter adapter = lora.newAdapter("default", spec, new Random(1));
        INDArray a0 = adapter.a().value().dup();
        INDArray b0 = adapter.b().value().dup();
        INDArray trainedA = TestArrays.normal(7, 3, 5);
        INDArray trainedB = TestArrays.normal(8, 6, 3);
        adapter.a().value().assign(trainedA);
        adapter.b().value().assign(trainedB);
        assertEquals(TestArrays.normal(1, 6, 5), fresh.weight().value(), "the base changes only when attached");
        lora.attach(adapter);
        INDArray expected = Tensor.constant(TestArrays.normal(1, 6, 5)).value()
                .sub(b0.mmul(a0).muli(2.0)).addi(trainedB.mmul(trainedA).muli(2.0));
        lora.merge(List.of("default"));
        assertTrue(expected.equalsWithEps(fresh.weight().value(), 1e-12), "W − s·B₀·A₀ + s·B·A");
        assertEquals(w.length, 6);
        assertEquals(a0, adapter.initialFactors()[0]);
    }

    @Test
    void doraMagnitudeStartsAtTheNormOfTheOriginalWeight() {
        // PEFT: pissa_init first, then DoRA's m = ‖W_res + s·B·A‖ = ‖W‖ (to rounding)
        for (LoraInit init : List.of(LoraInit.PISSA, LoraInit.OLORA)) {
            Linear layer = layer(DataType.DOUBLE, false);
            double[][] w = outIn(layer.weight().value(), false);
            Tensor x = Tensor.constant(TestArrays.normal(3, 4, 5));
            INDArray before = layer.forward(x).value().dup();
            LoraAdapter adapter = LoraLayers.attach(layer).addAdapter("default",
                    new AdapterSettings(3, 6, 0, false, init, true), new Random(2));
            for (int o = 0; o < 6; o++) {
                double norm = 0;
                for (double v : w[o]) {
                    norm += v * v;
                }
                assertEquals(Math.sqrt(norm), adapter.magnitude().value().getDouble(o), 1e-12, init + " m[" + o + "]");
            }
            assertTrue(before.equalsWithEps(layer.forward(x).value(), 1e-12), init + ": DoRA output unchanged");
        }
    }

    @Test
    void otherInitsKeepNoInitialFactorsAndLeaveTheBase() {
        Linear layer = layer(DataType.DOUBLE, false);
        INDArray w = layer.weight().value().dup();
        LoraAdapter adapter = LoraLayers.attach(layer).addAdapter("default",
                new AdapterSettings(3, 6, 0, false, LoraInit.GAUSSIAN), new Random(2));
        assertNull(adapter.initialFactors());
        assertEquals(w, layer.weight().value());
    }

    @Test
    void refusesWherePeftDoesNotImplementIt() {
        Embedding embedding = new Embedding(new Parameter(TestArrays.normal(1, 10, 4)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoraLayers.attach(embedding)
                .addAdapter("default", new AdapterSettings(2, 2, 0, false, LoraInit.PISSA), new Random(1)));
        assertTrue(e.getMessage().startsWith("init PISSA (init_lora_weights pissa) is implemented for Linear layers"
                + " only, as in PEFT, not for Embedding"), e.getMessage());
        Conv2d conv = new Conv2d(3, 4, 3);
        e = assertThrows(IllegalArgumentException.class, () -> LoraLayers.attach(conv)
                .addAdapter("default", new AdapterSettings(2, 2, 0, false, LoraInit.OLORA), new Random(1)));
        assertTrue(e.getMessage().contains("init OLORA (init_lora_weights olora) is implemented for Linear layers only"),
                e.getMessage());
        Linear inOut = layer(DataType.DOUBLE, true);
        INDArray w = inOut.weight().value().dup();
        e = assertThrows(IllegalArgumentException.class, () -> LoraLayers.attach(inOut)
                .addAdapter("default", new AdapterSettings(2, 2, 0, false, LoraInit.OLORA), new Random(1)));
        assertTrue(e.getMessage().startsWith("init OLORA (init_lora_weights \"olora\") is not supported on a"
                + " fan-in-fan-out layer"), e.getMessage());
        Linear narrow = layer(DataType.DOUBLE, false);
        e = assertThrows(IllegalArgumentException.class, () -> LoraLayers.attach(narrow)
                .addAdapter("default", new AdapterSettings(6, 6, 0, false, LoraInit.PISSA, false, 1), new Random(1)));
        assertTrue(e.getMessage().endsWith("init pissa_niter_1 needs a rank of at most min(out, in) = 5 for a weight"
                + " [6, 5], got r=6"), e.getMessage());
        assertEquals(w, inOut.weight().value(), "a refused init changes nothing");
    }

    /** A model whose layers carry {@code @LoRA(init = PISSA, pissaNiter = 3)} and a plain {@code @LoRA}. */
    static final class Annotated extends dev.lora4j.nn.Module {
        @dev.lora4j.api.LoRA(rank = 2, alpha = 4, init = LoraInit.PISSA, pissaNiter = 3)
        final Linear fc = layer(DataType.DOUBLE, false);
        @dev.lora4j.api.LoRA(rank = 2)
        final Linear plain = layer(DataType.DOUBLE, false);
    }

    @Test
    void theAnnotationAsksForPissa() throws Exception {
        Annotated model = new Annotated();
        INDArray w = model.fc.weight().value().dup();
        LoraModel<Annotated> lora = dev.lora4j.Lora.inject(model);
        AdapterSettings spec = lora.layers().get("fc").adapter("default").spec();
        assertEquals(LoraInit.PISSA, spec.init());
        assertEquals(3, spec.pissaNiter());
        assertEquals("pissa_niter_3", spec.peftInit());
        assertEquals(spec, AdapterSettings.of(Annotated.class.getDeclaredField("fc").getAnnotation(dev.lora4j.api.LoRA.class)));
        assertTrue(w.sub(model.fc.weight().value()).amaxNumber().doubleValue() > 0.1, "fc holds the residual");
        // one adapter with PiSSA on some layers only is not a PEFT adapter (init_lora_weights is one setting)
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> dev.lora4j.io.AdapterFiles.peftConfig(lora, "default", dev.lora4j.io.AdapterSaveOptions.defaults()));
        assertEquals("the adapter has init_lora_weights pissa_niter_3 on fc but true on plain; PEFT's init_lora_weights"
                + " is one setting for the whole adapter and PiSSA/OLoRA factors need their own residual, so it cannot"
                + " be saved as a PEFT adapter", e.getMessage());
    }

    private static void assertClose(double[][] expected, double[][] actual, double tol) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertArrayEquals(expected[i], actual[i], tol, "row " + i);
        }
    }
}
