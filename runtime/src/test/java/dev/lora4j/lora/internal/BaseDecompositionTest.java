package dev.lora4j.lora.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.LoraInit;
import dev.lora4j.lora.AdapterSettings;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * PEFT's {@code pissa_init} and {@code olora_init} formulas ({@link BaseDecomposition}), the exact
 * and randomized SVD ({@link LowRankSvd#of}, {@link LowRankSvd#randomized}) and the Householder QR
 * ({@link HouseholderQr}), in float64, against independent references: LAPACK's values (numpy 2.4
 * {@code linalg.qr}/{@code linalg.svd}, which call {@code dgeqrf}/{@code dorgqr}/{@code dgesdd} as
 * {@code torch.linalg} does on the CPU) written out below, and matrices built from a known SVD.
 */
class BaseDecompositionTest {

    /** A 6 × 4 matrix of short binary fractions (exact in double). */
    private static final double[][] W = {
        {0.5, -1.25, 2.0, 0.75}, {1.5, 0.25, -0.5, 1.0}, {-2.0, 1.0, 0.125, -0.375},
        {0.875, -0.625, 1.25, 2.5}, {-1.0, 2.25, 0.5, -1.5}, {0.25, 0.5, -1.75, 0.625}};

    /** numpy.linalg.qr(W): Q[:, :2] and R[:2]. */
    private static final double[][] Q2 = {
        {-0.17325923272968402, 0.41001961337138476}, {-0.5197776981890521, -0.48819534309526535},
        {0.693036930918736, 0.07817572972388072}, {-0.303203657276947, 0.04634128308374374},
        {0.346518465459368, -0.7126483402921807}, {-0.086629616364842, -0.2782491823419569}};
    private static final double[][] R2 = {
        {-2.885849095153799, 1.7055205721828268, -0.054143510228026326, -2.241541323440287},
        {0.0, -2.3279442815198914, 1.2624473673129013, 0.8009234474707254}};

    /** numpy.linalg.qr of the first three columns of W, transposed (a wide 3 × 6 matrix). */
    private static final double[][] WIDE_Q2 = {
        {-0.20739033894608516, -0.977710302671823}, {0.5184758473652127, -0.08147585855598517},
        {-0.8295613557843403, 0.19350516407046495}};
    private static final double[][] WIDE_R2 = {
        {-2.4109126902482387, 0.23331413131434564, 0.8295613557843406, -1.5424656459115078, 0.9591803176256435,
            1.6591227115686806},
        {0.0, -1.5836870006819632, 1.8981328922964695, -0.5626926481522734, 0.8911422029560888, -0.6237995420692619}};

    /** numpy.linalg.svd(W).S */
    private static final double[] SIGMA = {4.6299294111477245, 3.0122654606525616, 1.8679473721106161, 1.5464178146199463};

    private static final double TOL = 1e-12;

    @Test
    void householderQrMatchesLapackIncludingSigns() {
        HouseholderQr qr = HouseholderQr.leading(W, 2);
        assertClose(Q2, qr.q(), TOL);
        assertClose(R2, qr.r(), TOL);
        double[][] wide = new double[3][6];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 6; j++) {
                wide[i][j] = W[j][i];
            }
        }
        HouseholderQr wideQr = HouseholderQr.leading(wide, 2);
        assertClose(WIDE_Q2, wideQr.q(), TOL);
        assertClose(WIDE_R2, wideQr.r(), TOL);
    }

    @Test
    void oloraFactorsAreQsColumnsAndRsRowsUnscaled() {
        AdapterSettings spec = new AdapterSettings(2, 8, 0, false, LoraInit.OLORA); // s = 4 does not enter A or B
        double[][][] ab = BaseDecomposition.factors(W, spec, new Random(1));
        assertClose(R2, ab[0], TOL);
        assertClose(Q2, ab[1], TOL);
    }

    @Test
    void exactSvdMatchesLapackAndReconstructs() {
        LowRankSvd svd = LowRankSvd.of(W);
        assertArrayEquals(SIGMA, svd.singularValues(), TOL);
        assertClose(W, times(svd.scaledLeft(4), svd.rightTransposed(4)), TOL);
        assertClose(identity(4), times(transpose(svd.u()), svd.u()), TOL);
        assertClose(identity(4), times(transpose(svd.v()), svd.v()), TOL);
        // a wide matrix takes the other branch
        double[][] wide = transpose(W);
        LowRankSvd wideSvd = LowRankSvd.of(wide);
        assertArrayEquals(SIGMA, wideSvd.singularValues(), TOL);
        assertClose(wide, times(wideSvd.scaledLeft(4), wideSvd.rightTransposed(4)), TOL);
    }

    /**
     * PiSSA on a matrix built from a known SVD {@code U₀·diag(σ)·V₀ᵀ}: {@code A = diag(√(σ/s))·V₀ᵀ}
     * and {@code B = U₀·diag(√(σ/s))} up to the sign of each pair, for plain and rsLoRA scaling.
     */
    @Test
    void pissaFactorsFollowPeftsFormula() {
        double[] sigma = {9, 5, 2, 1, 0.5};
        double[][] u0 = orthonormalColumns(7, 5, 11);
        double[][] v0 = orthonormalColumns(6, 5, 12);
        double[][] w = fromSvd(u0, sigma, v0);
        for (AdapterSettings spec : new AdapterSettings[] {
            new AdapterSettings(3, 6, 0, false, LoraInit.PISSA), new AdapterSettings(3, 6, 0, true, LoraInit.PISSA)}) {
            double s = spec.scaling();
            double[][][] ab = BaseDecomposition.factors(w, spec, new Random(1));
            double[][] a = ab[0];
            double[][] b = ab[1];
            assertEquals(3, a.length);
            assertEquals(6, a[0].length);
            assertEquals(7, b.length);
            assertEquals(3, b[0].length);
            for (int c = 0; c < 3; c++) {
                double root = Math.sqrt(sigma[c] / s);
                double sign = Math.signum(a[c][0] * v0[0][c]);
                for (int j = 0; j < 6; j++) {
                    assertEquals(sign * root * v0[j][c], a[c][j], TOL, "A[" + c + "][" + j + "]");
                }
                for (int i = 0; i < 7; i++) {
                    assertEquals(sign * u0[i][c] * root, b[i][c], TOL, "B[" + i + "][" + c + "]");
                }
            }
        }
    }

    /**
     * {@code pissa_niter_N} against the exact PiSSA on a matrix with a clear spectral gap (σ₃/σ₄ =
     * 100, σ₄ = 0.06): the error of {@code s·B·A} against the exact rank-3 part (max-abs, σ₁ = 10)
     * falls like {@code σ₄·(σ₄/σ₃)^(2·niter)}: below {@code 10·σ₄} without iterations (PEFT asks
     * for no oversampling), 1e-4 with one, 1e-9 with two and four.
     */
    @Test
    void randomizedPissaApproachesTheExactOneOnASpectralGap() {
        double[] sigma = {10, 8, 6, 0.06, 0.03, 0.01};
        double[][] w = fromSvd(orthonormalColumns(12, 6, 21), sigma, orthonormalColumns(9, 6, 22));
        AdapterSettings exact = new AdapterSettings(3, 6, 0, false, LoraInit.PISSA);
        double[][] reference = product(BaseDecomposition.factors(w, exact, new Random(1)), exact.scaling());
        double[] tolerance = {0.6, 1e-4, 1e-9, 1e-9, 1e-9};
        for (int niter : new int[] {0, 1, 2, 4}) {
            AdapterSettings spec = new AdapterSettings(3, 6, 0, false, LoraInit.PISSA, false, niter);
            double[][] approx = product(BaseDecomposition.factors(w, spec, new Random(5)), spec.scaling());
            double error = maxAbsDiff(reference, approx);
            assertTrue(error < tolerance[niter], "niter " + niter + ": error " + error);
        }
        // exact when the rank is at most q
        double[][] rank3 = fromSvd(orthonormalColumns(8, 3, 31), new double[] {4, 2, 1}, orthonormalColumns(5, 3, 32));
        AdapterSettings spec = new AdapterSettings(3, 3, 0, false, LoraInit.PISSA, false, 0);
        assertClose(rank3, product(BaseDecomposition.factors(rank3, spec, new Random(3)), 1.0), 1e-12);
    }

    @Test
    void refusesARankAboveTheSmallerDimension() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BaseDecomposition.factors(W, new AdapterSettings(5, 5, 0, false, LoraInit.OLORA), new Random(1)));
        assertEquals("init olora needs a rank of at most min(out, in) = 4 for a weight [6, 4], got r=5", e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> BaseDecomposition.factors(W, new AdapterSettings(5, 5, 0, false, LoraInit.PISSA, false, 2), new Random(1)));
    }

    // ---- helpers ----

    private static double[][] product(double[][][] ab, double s) {
        double[][] p = times(ab[1], ab[0]);
        for (double[] row : p) {
            for (int j = 0; j < row.length; j++) {
                row[j] *= s;
            }
        }
        return p;
    }

    /** Orthonormal columns by Gram–Schmidt (twice) of a seeded Gaussian matrix. */
    static double[][] orthonormalColumns(int rows, int cols, long seed) {
        Random random = new Random(seed);
        double[][] q = new double[rows][cols];
        for (int c = 0; c < cols; c++) {
            double[] v = new double[rows];
            for (int i = 0; i < rows; i++) {
                v[i] = random.nextGaussian();
            }
            for (int pass = 0; pass < 2; pass++) {
                for (int p = 0; p < c; p++) {
                    double dot = 0;
                    for (int i = 0; i < rows; i++) {
                        dot += q[i][p] * v[i];
                    }
                    for (int i = 0; i < rows; i++) {
                        v[i] -= dot * q[i][p];
                    }
                }
            }
            double norm = 0;
            for (double x : v) {
                norm += x * x;
            }
            norm = Math.sqrt(norm);
            for (int i = 0; i < rows; i++) {
                q[i][c] = v[i] / norm;
            }
        }
        return q;
    }

    static double[][] fromSvd(double[][] u, double[] sigma, double[][] v) {
        double[][] out = new double[u.length][v.length];
        for (int i = 0; i < u.length; i++) {
            for (int j = 0; j < v.length; j++) {
                for (int c = 0; c < sigma.length; c++) {
                    out[i][j] += u[i][c] * sigma[c] * v[j][c];
                }
            }
        }
        return out;
    }

    private static double[][] times(double[][] x, double[][] y) {
        double[][] out = new double[x.length][y[0].length];
        for (int i = 0; i < x.length; i++) {
            for (int l = 0; l < y.length; l++) {
                for (int j = 0; j < y[0].length; j++) {
                    out[i][j] += x[i][l] * y[l][j];
                }
            }
        }
        return out;
    }

    private static double[][] transpose(double[][] m) {
        double[][] out = new double[m[0].length][m.length];
        for (int i = 0; i < m.length; i++) {
            for (int j = 0; j < m[0].length; j++) {
                out[j][i] = m[i][j];
            }
        }
        return out;
    }

    private static double[][] identity(int n) {
        double[][] out = new double[n][n];
        for (int i = 0; i < n; i++) {
            out[i][i] = 1;
        }
        return out;
    }

    private static double maxAbsDiff(double[][] x, double[][] y) {
        double max = 0;
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[0].length; j++) {
                max = Math.max(max, Math.abs(x[i][j] - y[i][j]));
            }
        }
        return max;
    }

    private static void assertClose(double[][] expected, double[][] actual, double tol) {
        assertEquals(expected.length, actual.length, "rows");
        for (int i = 0; i < expected.length; i++) {
            assertArrayEquals(expected[i], actual[i], tol, "row " + i);
        }
    }
}
