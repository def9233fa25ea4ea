package dev.lora4j.train;

import static dev.lora4j.train.Arrays64.grad;
import static dev.lora4j.train.Arrays64.param;
import static dev.lora4j.train.Arrays64.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lora4j.nn.Parameter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** SGD against closed forms for a constant gradient; float64, tolerance 1e-12. */
class SgdTest {

    private static final double TOL = 1e-12;

    @Test
    void plainStep() {
        Parameter p = param(1.0);
        Sgd sgd = new Sgd(List.of(ParameterGroup.of("p", List.of(p), 0)));
        grad(p, 0.5);
        sgd.step(0.1);
        assertEquals(0.95, values(p)[0], TOL);
    }

    /** b_t = g·(1 − μᵗ)/(1 − μ), so p_T = p₀ − lr·g·Σ_{t=1..T} (1 − μᵗ)/(1 − μ). */
    @Test
    void momentumClosedForm() {
        double mu = 0.9;
        double lr = 0.1;
        double g = 0.5;
        Parameter p = param(1.0);
        Sgd sgd = new Sgd(List.of(ParameterGroup.of("p", List.of(p), 0)), mu, false);
        double expected = 1.0;
        for (int t = 1; t <= 5; t++) {
            grad(p, g);
            sgd.step(lr);
            expected -= lr * g * (1 - Math.pow(mu, t)) / (1 - mu);
            assertEquals(expected, values(p)[0], TOL, "step " + t);
        }
    }

    /** Nesterov moves by g + μ·b_t = g·(1 + μ(1 − μᵗ)/(1 − μ)). */
    @Test
    void nesterovClosedForm() {
        double mu = 0.8;
        double lr = 0.05;
        double g = -2.0;
        Parameter p = param(0.0);
        Sgd sgd = new Sgd(List.of(ParameterGroup.of("p", List.of(p), 0)), mu, true);
        double expected = 0.0;
        for (int t = 1; t <= 4; t++) {
            grad(p, g);
            sgd.step(lr);
            expected -= lr * g * (1 + mu * (1 - Math.pow(mu, t)) / (1 - mu));
            assertEquals(expected, values(p)[0], TOL, "step " + t);
        }
    }

    @Test
    void l2WeightDecayGoesThroughTheGradient() {
        Parameter p = param(2.0);
        Sgd sgd = new Sgd(List.of(ParameterGroup.of("p", List.of(p), 0.1)), 0.5, false);
        grad(p, 0.3);
        sgd.step(0.1);
        double d1 = 0.3 + 0.1 * 2.0;
        double p1 = 2.0 - 0.1 * d1;
        assertEquals(p1, values(p)[0], TOL);
        sgd.step(0.1);
        double d2 = 0.3 + 0.1 * p1;
        double b2 = 0.5 * d1 + d2;
        assertEquals(p1 - 0.1 * b2, values(p)[0], TOL);
    }

    @Test
    void nesterovNeedsMomentum() {
        assertThrows(IllegalArgumentException.class,
                () -> new Sgd(List.of(ParameterGroup.of("p", List.of(param(1.0)), 0)), 0.0, true));
    }
}
