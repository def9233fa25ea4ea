package dev.lora4j.train;

import static dev.lora4j.train.Arrays64.frozen;
import static dev.lora4j.train.Arrays64.grad;
import static dev.lora4j.train.Arrays64.param;
import static dev.lora4j.train.Arrays64.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.nn.Parameter;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * AdamW against a scalar float64 reference written out in the test. Parameters are float64, so
 * the tolerance is 1e-12 (the in-place ND4J form reorders a few operations).
 */
class AdamWTest {

    private static final double TOL = 1e-12;
    private static final double B1 = 0.9;
    private static final double B2 = 0.999;
    private static final double EPS = 1e-8;

    /** The scalar reference: PyTorch's AdamW update, one element at a time. */
    private static final class Reference {
        final double[] p;
        final double[] m;
        final double[] v;
        int t;

        Reference(double[] p0) {
            p = p0.clone();
            m = new double[p0.length];
            v = new double[p0.length];
        }

        void step(double[] g, double lr, double wd) {
            t++;
            for (int i = 0; i < p.length; i++) {
                p[i] = p[i] - lr * wd * p[i];
                m[i] = B1 * m[i] + (1 - B1) * g[i];
                v[i] = B2 * v[i] + (1 - B2) * g[i] * g[i];
                double mHat = m[i] / (1 - Math.pow(B1, t));
                double vHat = v[i] / (1 - Math.pow(B2, t));
                p[i] = p[i] - lr * mHat / (Math.sqrt(vHat) + EPS);
            }
        }
    }

    @Test
    void firstStepIsDecayThenSignTimesLearningRate() {
        double[] p0 = {0.5, -1.0, 2.0};
        double[] g = {0.1, -0.2, 0.3};
        double lr = 0.01;
        double wd = 0.1;
        Parameter p = param(p0);
        AdamW adamW = new AdamW(List.of(ParameterGroup.of("all", List.of(p), wd)));
        grad(p, g);
        adamW.step(lr);
        // at t = 1, m̂ = g and v̂ = g², so the Adam part is lr·g/(|g| + ε)
        double[] expected = new double[3];
        for (int i = 0; i < 3; i++) {
            expected[i] = p0[i] * (1 - lr * wd) - lr * g[i] / (Math.abs(g[i]) + EPS);
        }
        assertArrayEquals(expected, values(p), TOL);
        assertEquals(1, adamW.stepCount(p));
    }

    @Test
    void twoStepsMatchTheReference() {
        double[] p0 = {0.5, -1.0, 2.0, 0.0};
        double[][] gs = {{0.1, -0.2, 0.3, 0.0}, {-0.05, 0.4, 0.3, 1e-3}};
        double[] lrs = {1e-2, 5e-3};
        double wd = 0.05;
        Parameter p = param(p0);
        AdamW adamW = new AdamW(List.of(ParameterGroup.of("all", List.of(p), wd)));
        Reference ref = new Reference(p0);
        for (int s = 0; s < 2; s++) {
            grad(p, gs[s]);
            adamW.step(lrs[s]);
            ref.step(gs[s], lrs[s], wd);
            assertArrayEquals(ref.p, values(p), TOL, "after step " + (s + 1));
        }
        assertEquals(2, adamW.stepCount(p));
    }

    @Test
    void groupMultiplierScalesTheRate() {
        Parameter a = param(1.0);
        Parameter b = param(1.0);
        AdamW adamW = new AdamW(List.of(
                new ParameterGroup("a", List.of(a), 1.0, 0.0),
                new ParameterGroup("b", List.of(b), 16.0, 0.0)));
        grad(a, 0.5);
        grad(b, 0.5);
        adamW.step(1e-3);
        assertEquals(1.0 - 1e-3 * 0.5 / (0.5 + EPS), values(a)[0], TOL);
        assertEquals(1.0 - 16e-3 * 0.5 / (0.5 + EPS), values(b)[0], TOL);
    }

    /**
     * With a zero gradient, decoupled decay shrinks every weight by the same fraction lr·wd. An L2
     * term in the gradient (Adam on g + wd·p) is normalised by √v̂ instead, so the first step moves
     * every weight by about lr whatever its size.
     */
    @Test
    void decoupledDecayDiffersFromL2() {
        double lr = 0.01;
        double wd = 0.1;
        double[] p0 = {0.5, 4.0};

        Parameter decoupled = param(p0);
        new AdamWStepper(decoupled, wd).step(new double[] {0, 0}, lr);
        assertArrayEquals(new double[] {0.5 * (1 - lr * wd), 4.0 * (1 - lr * wd)}, values(decoupled), TOL);

        Parameter l2 = param(p0);
        new AdamWStepper(l2, 0.0).step(new double[] {wd * p0[0], wd * p0[1]}, lr);
        double[] l2Values = values(l2);
        assertEquals(0.5 - lr, l2Values[0], 1e-8);
        assertEquals(4.0 - lr, l2Values[1], 1e-8);
        assertNotEquals(values(decoupled)[1], l2Values[1], 1e-3);
    }

    private record AdamWStepper(Parameter p, double wd) {
        void step(double[] g, double lr) {
            AdamW adamW = new AdamW(List.of(ParameterGroup.of("p", List.of(p), wd)));
            grad(p, g);
            adamW.step(lr);
        }
    }

    @Test
    void frozenParameterGetsNoStateAndStaysBitwiseUnchanged() {
        Parameter trained = param(1.0, 2.0);
        Parameter ice = frozen(0.123456789, -3.5);
        Parameter noGrad = param(7.0);
        double[] iceBefore = values(ice);
        AdamW adamW = new AdamW(List.of(ParameterGroup.of("all", List.of(trained, ice, noGrad), 0.5)));
        for (int i = 0; i < 3; i++) {
            grad(trained, 0.1, 0.2);
            adamW.step(0.1);
        }
        assertTrue(adamW.hasState(trained));
        assertFalse(adamW.hasState(ice));
        assertFalse(adamW.hasState(noGrad));
        assertArrayEquals(iceBefore, values(ice), 0.0);
        assertEquals(7.0, values(noGrad)[0], 0.0, "a parameter without a gradient is not even decayed");
    }

    @Test
    void zeroGradDropsGradients() {
        Parameter p = param(1.0);
        AdamW adamW = new AdamW(List.of(ParameterGroup.of("p", List.of(p), 0)));
        grad(p, 1.0);
        adamW.zeroGrad();
        assertEquals(null, p.grad());
    }

    @Test
    void rejectsBadSettings() {
        List<ParameterGroup> groups = List.of(ParameterGroup.of("p", List.of(param(1.0)), 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(groups, 1.0, 0.999, 1e-8));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(groups, 0.9, 0.999, 0));
        Parameter shared = param(1.0);
        assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(
                ParameterGroup.of("a", List.of(shared), 0), ParameterGroup.of("b", List.of(shared), 0))));
    }
}
