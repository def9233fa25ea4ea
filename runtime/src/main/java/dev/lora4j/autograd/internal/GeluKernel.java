package dev.lora4j.autograd.internal;

import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * GELU, {@code x·Φ(x)} with the exact (erf) Φ, in float32: forward and backward each one pass over
 * ND4J's native memory, a chunk at a time through a small Java array, in loops the JIT compiles to
 * vector instructions. ND4J's ops took five passes forward and seven backward, with as many
 * temporaries of the input's size, and its erf ran element by element. Forward keeps nothing:
 * backward recomputes Φ from the input.
 *
 * <p>erf is a rational function, {@code erf(z) ≈ z·P(z²)/Q(z²)} on {@code [−4, 4]} and ±1 beyond
 * (the minimax coefficients XLA and Eigen use for float32; within 2·10⁻⁷ of erf), and φ = Φ' is
 * that function's exact derivative, so forward and backward are consistent to float rounding.
 * {@link #value(double)} and {@link #derivative(double)} compute the same functions in float64:
 * they are what the finite-difference check runs and what the float32 loops are compared with.
 */
public final class GeluKernel {

    private static final int CHUNK = 1024;
    private static final double INV_SQRT2 = 1.0 / Math.sqrt(2.0);
    private static final double LIMIT = 4.0;
    /** Multiplies {@code 4 − |z|} (0, or at least a float step of 4.8·10⁻⁷, when not negative) into a 0/1 flag. */
    private static final double STEP = 1e30;

    // numerator P(u) = P1 + P3·u + … + P13·u⁶ and denominator Q(u) = Q0 + Q2·u + … + Q8·u⁴, u = z²
    private static final double P1 = -1.60960333262415e-02;
    private static final double P3 = -2.95459980854025e-03;
    private static final double P5 = -7.34990630326855e-04;
    private static final double P7 = -5.69250639462346e-05;
    private static final double P9 = -2.10102402082508e-06;
    private static final double P11 = 2.77068142495902e-08;
    private static final double P13 = -2.72614225801306e-10;
    private static final double Q0 = -1.42647390514189e-02;
    private static final double Q2 = -7.37332916720468e-03;
    private static final double Q4 = -1.68282697438203e-03;
    private static final double Q6 = -2.13374055278905e-04;
    private static final double Q8 = -1.45660718464996e-05;

    private GeluKernel() {}

    /** {@code y = gelu(x)} for float32 {@code x} and {@code y} of the same length ({@code y} plain row-major). */
    public static void forward(INDArray x, INDArray y) {
        check(x, y);
        FloatBuffer in = Shapes.plain(x).data().asNioFloat();
        FloatBuffer out = y.data().asNioFloat();
        float[] chunk = new float[CHUNK];
        int n = Math.toIntExact(x.length());
        for (int start = 0; start < n; start += CHUNK) {
            int count = Math.min(CHUNK, n - start);
            in.get(start, chunk, 0, count);
            forward(chunk, count);
            out.put(start, chunk, 0, count);
        }
    }

    /** {@code dx = g·gelu'(x)} for float32 arrays of the same length ({@code dx} plain row-major). */
    public static void backward(INDArray x, INDArray g, INDArray dx) {
        check(x, dx);
        check(g, dx);
        FloatBuffer in = Shapes.plain(x).data().asNioFloat();
        FloatBuffer grad = Shapes.plain(g).data().asNioFloat();
        FloatBuffer out = dx.data().asNioFloat();
        Chunk chunk = new Chunk();
        int n = Math.toIntExact(x.length());
        for (int start = 0; start < n; start += CHUNK) {
            int count = Math.min(CHUNK, n - start);
            in.get(start, chunk.x, 0, count);
            grad.get(start, chunk.g, 0, count);
            chunk.backward(count);
            out.put(start, chunk.g, 0, count);
        }
    }

    private static void forward(float[] v, int count) {
        final float invSqrt2 = (float) INV_SQRT2;
        final float limit = (float) LIMIT;
        for (int i = 0; i < count; i++) {
            float x = v[i];
            float z = clamp(x * invSqrt2, limit);
            float u = z * z;
            float p = (float) P13;
            p = p * u + (float) P11;
            p = p * u + (float) P9;
            p = p * u + (float) P7;
            p = p * u + (float) P5;
            p = p * u + (float) P3;
            p = p * u + (float) P1;
            float q = (float) Q8;
            q = q * u + (float) Q6;
            q = q * u + (float) Q4;
            q = q * u + (float) Q2;
            q = q * u + (float) Q0;
            v[i] = 0.5f * x * (1f + z * p / q);
        }
    }

    /**
     * A chunk's arrays for backward, which runs as four short loops over them: one loop doing all
     * the work is too long for the JIT to unroll and so to vectorize (measured: about 15 ns an
     * element as one loop, about 1.5 ns as four).
     */
    /**
     * {@code s} clamped to [−limit, limit] as {@code (|s + limit| − |s − limit|) / 2}: C2 (JDK 17)
     * vectorizes {@code Math.abs} but not {@code Math.max}/{@code Math.min} on floats, whose NaN and
     * −0 rules cost more here than the rest of the forward (measured: 0.12–0.24 against 0.56–0.71 ns
     * an element for the clamp alone). The rounding of {@code s ± limit} moves a small s by at most
     * half an ulp of the limit (2.4e-7), within the kernel's float32 tolerance. An infinite s gives
     * NaN (∞ − ∞), so GELU(±∞) is NaN: the step is non-finite either way and training reports it.
     */
    private static float clamp(float s, float limit) {
        return 0.5f * (Math.abs(s + limit) - Math.abs(s - limit));
    }

    private static final class Chunk {
        final float[] x = new float[CHUNK];
        final float[] g = new float[CHUNK];
        final float[] z = new float[CHUNK];
        final float[] u = new float[CHUNK];
        final float[] p = new float[CHUNK];
        final float[] s = new float[CHUNK];
        final float[] r = new float[CHUNK];
        final float[] t = new float[CHUNK];

        /**
         * {@code g[i] ← g[i]·(Φ(x[i]) + x[i]·φ(x[i]))}, with erf = z·P/Q and its derivative
         * {@code (S − P·T/Q)/Q}, where {@code S(u) = d(z·P)/dz = Σ (2k+1)·P_{2k+1}·u^k} and
         * {@code T(u) = z·dQ/dz = Σ 2k·Q_{2k}·u^k}.
         */
        void backward(int count) {
            final float invSqrt2 = (float) INV_SQRT2;
            final float limit = (float) LIMIT;
            final float step = (float) STEP;
            for (int i = 0; i < count; i++) {
                float clamped = clamp(x[i] * invSqrt2, limit);
                z[i] = clamped;
                u[i] = clamped * clamped;
            }
            for (int i = 0; i < count; i++) {
                float v = u[i];
                float num = (float) P13 * v + (float) P11;
                num = num * v + (float) P9;
                num = num * v + (float) P7;
                num = num * v + (float) P5;
                num = num * v + (float) P3;
                p[i] = num * v + (float) P1;
                float slope = (float) (13 * P13) * v + (float) (11 * P11);
                slope = slope * v + (float) (9 * P9);
                slope = slope * v + (float) (7 * P7);
                slope = slope * v + (float) (5 * P5);
                slope = slope * v + (float) (3 * P3);
                s[i] = slope * v + (float) P1;
            }
            for (int i = 0; i < count; i++) {
                float v = u[i];
                float den = (float) Q8 * v + (float) Q6;
                den = den * v + (float) Q4;
                den = den * v + (float) Q2;
                den = den * v + (float) Q0;
                float slope = (float) (8 * Q8) * v + (float) (6 * Q6);
                slope = slope * v + (float) (4 * Q4);
                slope = slope * v + (float) (2 * Q2);
                float inverse = 1f / den;
                r[i] = inverse;
                t[i] = slope * v * inverse;
            }
            for (int i = 0; i < count; i++) {
                float xi = x[i];
                float inside = Math.min(1f, Math.max(0f, (limit - Math.abs(xi * invSqrt2)) * step));
                float erf = z[i] * p[i] * r[i];
                float dErf = (s[i] - p[i] * t[i]) * r[i] * inside;
                g[i] = g[i] * (0.5f * (1f + erf) + xi * (0.5f * invSqrt2) * dErf);
            }
        }
    }

    /** The function the float32 forward computes, in float64. */
    public static double value(double x) {
        double z = Math.max(-LIMIT, Math.min(LIMIT, x * INV_SQRT2));
        return 0.5 * x * (1 + z * numerator(z * z) / denominator(z * z));
    }

    /** The derivative the float32 backward computes, in float64. */
    public static double derivative(double x) {
        double scaled = x * INV_SQRT2;
        double z = Math.max(-LIMIT, Math.min(LIMIT, scaled));
        double u = z * z;
        double p = numerator(u);
        double q = denominator(u);
        double dp = P3 + u * (2 * P5 + u * (3 * P7 + u * (4 * P9 + u * (5 * P11 + u * 6 * P13))));
        double dq = Q2 + u * (2 * Q4 + u * (3 * Q6 + u * 4 * Q8));
        double dErf = Math.abs(scaled) < LIMIT ? ((p + 2 * u * dp) * q - 2 * u * p * dq) / (q * q) : 0.0;
        return 0.5 * (1 + z * p / q) + x * 0.5 * INV_SQRT2 * dErf;
    }

    private static double numerator(double u) {
        return P1 + u * (P3 + u * (P5 + u * (P7 + u * (P9 + u * (P11 + u * P13)))));
    }

    private static double denominator(double u) {
        return Q0 + u * (Q2 + u * (Q4 + u * (Q6 + u * Q8)));
    }

    private static void check(INDArray x, INDArray out) {
        if (x.dataType() != DataType.FLOAT || out.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("the GELU kernel computes float32, got " + x.dataType() + " and "
                    + out.dataType());
        }
        if (x.length() != out.length() || !Shapes.isPlain(out)) {
            throw new IllegalArgumentException("GELU kernel: input of " + x.length() + " elements, output of "
                    + out.length() + (Shapes.isPlain(out) ? "" : " that is not a plain row-major array"));
        }
    }
}
