package dev.lora4j.lora.internal;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * The thin singular value decomposition of a product {@code M = B·A} with {@code B [m, k]} and
 * {@code A [k, n]} for a small inner size {@code k}, in double precision, without forming {@code
 * M}: QR factors {@code B = Qb·Rb} and {@code Aᵀ = Qa·Ra} (modified Gram–Schmidt, orthogonalised
 * twice) reduce it to the SVD of the {@code k × k} core {@code Rb·Raᵀ}, computed by one-sided
 * Jacobi rotations (Hestenes). Then {@code M = (Qb·Uc)·S·(Qa·Vc)ᵀ}. Cost {@code O((m + n)·k²)}.
 *
 * <p>The same machinery gives the exact thin SVD of a full matrix ({@link #of}: {@code W = I·W} or
 * {@code W·I}, {@code k = min(m, n)}) and a randomized one ({@link #randomized}: Halko et al.'s
 * subspace iteration, what {@code torch.svd_lowrank} computes). Singular vectors are unique only
 * up to the sign of each pair {@code (uᵢ, vᵢ)}; this class's signs are those its Jacobi rotations
 * give, not LAPACK's.
 */
public final class LowRankSvd {

    private static final int MAX_SWEEPS = 80;

    private final double[][] u;
    private final double[] s;
    private final double[][] v;

    private LowRankSvd(double[][] u, double[] s, double[][] v) {
        this.u = u;
        this.s = s;
        this.v = v;
    }

    /**
     * Decomposes {@code b·a}.
     *
     * @param b {@code [m][k]}, row-major
     * @param a {@code [k][n]}, row-major
     */
    public static LowRankSvd ofProduct(double[][] b, double[][] a) {
        int k = a.length;
        if (b.length == 0 || b[0].length != k) {
            throw new IllegalArgumentException("inner sizes differ: B has " + (b.length == 0 ? 0 : b[0].length)
                    + " columns, A has " + k + " rows");
        }
        double[][] qb = new double[b.length][k];
        double[][] rb = new double[k][k];
        qr(b, false, qb, rb);
        double[][] qa = new double[a[0].length][k];
        double[][] ra = new double[k][k];
        qr(a, true, qa, ra);
        double[][] core = new double[k][k];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                double sum = 0;
                for (int l = 0; l < k; l++) {
                    sum += rb[i][l] * ra[j][l];
                }
                core[i][j] = sum;
            }
        }
        double[][] w = copy(core);
        double[][] vc = identity(k);
        jacobi(w, vc);
        double[] sigma = new double[k];
        double[][] uc = new double[k][k];
        for (int j = 0; j < k; j++) {
            double norm = 0;
            for (int i = 0; i < k; i++) {
                norm += w[i][j] * w[i][j];
            }
            sigma[j] = Math.sqrt(norm);
            for (int i = 0; i < k; i++) {
                uc[i][j] = sigma[j] > 0 ? w[i][j] / sigma[j] : 0.0;
            }
        }
        Integer[] order = IntStream.range(0, k).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer j) -> -sigma[j]));
        double[] sSorted = new double[k];
        double[][] ucSorted = new double[k][k];
        double[][] vcSorted = new double[k][k];
        for (int c = 0; c < k; c++) {
            int j = order[c];
            sSorted[c] = sigma[j];
            for (int i = 0; i < k; i++) {
                ucSorted[i][c] = uc[i][j];
                vcSorted[i][c] = vc[i][j];
            }
        }
        return new LowRankSvd(multiply(qb, ucSorted), sSorted, multiply(qa, vcSorted));
    }

    /**
     * The exact thin SVD of {@code w [m][n]}: {@code k = min(m, n)} singular values, descending.
     * Cost {@code O(max(m, n)·k²)} plus Jacobi sweeps over a {@code k × k} core.
     */
    public static LowRankSvd of(double[][] w) {
        int m = w.length;
        int n = w[0].length;
        return m <= n ? ofProduct(identity(m), w) : ofProduct(w, identity(n));
    }

    /**
     * A randomized SVD of {@code w [m][n]} with {@code q} singular triplets, as {@code
     * torch.svd_lowrank(w, q, niter)} computes it (Halko, Martinsson and Tropp 2009, Algorithms 4.4
     * and 5.1): an orthonormal basis {@code Q [m][q]} of {@code w·Ω} for a standard normal {@code Ω
     * [n][q]} drawn from {@code random}, refined by {@code niter} subspace iterations ({@code Q ←
     * orth(w·orth(wᵀ·Q))}), then the exact SVD of {@code Q·(Qᵀ·w)}. No oversampling, as PEFT calls
     * it ({@code q = r}). Exact when {@code w} has rank at most {@code q}; otherwise the error shrinks
     * with the gap {@code σ_{q+1}/σ_q} raised to {@code 2·niter + 1}.
     *
     * @throws IllegalArgumentException when {@code q} is not in {@code [1, min(m, n)]} or {@code niter < 0}
     */
    public static LowRankSvd randomized(double[][] w, int q, int niter, Random random) {
        int m = w.length;
        int n = w[0].length;
        if (q < 1 || q > Math.min(m, n)) {
            throw new IllegalArgumentException("randomized SVD: q must be in [1, " + Math.min(m, n) + "], got " + q);
        }
        if (niter < 0) {
            throw new IllegalArgumentException("randomized SVD: niter must be at least 0, got " + niter);
        }
        double[][] omega = new double[n][q];
        for (double[] row : omega) {
            for (int j = 0; j < q; j++) {
                row[j] = random.nextGaussian();
            }
        }
        double[][] basis = orthonormal(multiply(w, omega));
        double[][] wt = transpose(w);
        for (int i = 0; i < niter; i++) {
            basis = orthonormal(multiply(w, orthonormal(multiply(wt, basis))));
        }
        return ofProduct(basis, multiply(transpose(basis), w));
    }

    /** The orthonormal factor of a thin QR of {@code x} (a zero column for a dependent one). */
    private static double[][] orthonormal(double[][] x) {
        int k = x[0].length;
        double[][] q = new double[x.length][k];
        qr(x, false, q, new double[k][k]);
        return q;
    }

    /** The left singular vectors as columns, {@code [m][k]}. */
    public double[][] u() {
        return u;
    }

    /** The singular values, descending, {@code [k]}. */
    public double[] singularValues() {
        return s.clone();
    }

    /** The right singular vectors as columns, {@code [n][k]}. */
    public double[][] v() {
        return v;
    }

    /** {@code U[:, :rank]·diag(S[:rank])} as {@code [m][rank]}, zero columns past {@code k}. */
    public double[][] scaledLeft(int rank) {
        double[][] out = new double[u.length][rank];
        for (int i = 0; i < u.length; i++) {
            for (int c = 0; c < Math.min(rank, s.length); c++) {
                out[i][c] = u[i][c] * s[c];
            }
        }
        return out;
    }

    /** {@code V[:, :rank]ᵀ} as {@code [rank][n]}, zero rows past {@code k}. */
    public double[][] rightTransposed(int rank) {
        double[][] out = new double[rank][v.length];
        for (int c = 0; c < Math.min(rank, s.length); c++) {
            for (int i = 0; i < v.length; i++) {
                out[c][i] = v[i][c];
            }
        }
        return out;
    }

    /**
     * Thin QR of {@code x} (or of {@code xᵀ} when {@code transposed}), whose columns are the vectors
     * to orthogonalise. A column that is (numerically) dependent on the earlier ones gets a zero
     * vector in {@code q} and a zero diagonal in {@code r}; {@code q·r} still reproduces the input.
     */
    private static void qr(double[][] x, boolean transposed, double[][] q, double[][] r) {
        int rows = q.length;
        int k = r.length;
        double[] column = new double[rows];
        for (int j = 0; j < k; j++) {
            double original = 0;
            for (int i = 0; i < rows; i++) {
                column[i] = transposed ? x[j][i] : x[i][j];
                original += column[i] * column[i];
            }
            original = Math.sqrt(original);
            for (int pass = 0; pass < 2; pass++) {
                for (int p = 0; p < j; p++) {
                    double dot = 0;
                    for (int i = 0; i < rows; i++) {
                        dot += q[i][p] * column[i];
                    }
                    r[p][j] += dot;
                    for (int i = 0; i < rows; i++) {
                        column[i] -= dot * q[i][p];
                    }
                }
            }
            double norm = 0;
            for (int i = 0; i < rows; i++) {
                norm += column[i] * column[i];
            }
            norm = Math.sqrt(norm);
            if (norm <= 1e-13 * original || norm == 0) {
                r[j][j] = 0;
                for (int i = 0; i < rows; i++) {
                    q[i][j] = 0;
                }
            } else {
                r[j][j] = norm;
                for (int i = 0; i < rows; i++) {
                    q[i][j] = column[i] / norm;
                }
            }
        }
    }

    /** One-sided Jacobi: rotates the columns of {@code w} until orthogonal, accumulating into {@code v}. */
    private static void jacobi(double[][] w, double[][] v) {
        int k = v.length;
        for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
            boolean rotated = false;
            for (int p = 0; p < k - 1; p++) {
                for (int q = p + 1; q < k; q++) {
                    double alpha = 0;
                    double beta = 0;
                    double gamma = 0;
                    for (double[] row : w) {
                        alpha += row[p] * row[p];
                        beta += row[q] * row[q];
                        gamma += row[p] * row[q];
                    }
                    if (gamma == 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) {
                        continue;
                    }
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.signum(zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    if (zeta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(1 + t * t);
                    double s = c * t;
                    rotate(w, p, q, c, s);
                    rotate(v, p, q, c, s);
                }
            }
            if (!rotated) {
                return;
            }
        }
    }

    private static void rotate(double[][] m, int p, int q, double c, double s) {
        for (double[] row : m) {
            double mp = row[p];
            double mq = row[q];
            row[p] = c * mp - s * mq;
            row[q] = s * mp + c * mq;
        }
    }

    private static double[][] multiply(double[][] left, double[][] right) {
        int n = right[0].length;
        double[][] out = new double[left.length][n];
        for (int i = 0; i < left.length; i++) {
            for (int l = 0; l < right.length; l++) {
                double x = left[i][l];
                if (x == 0) {
                    continue;
                }
                for (int j = 0; j < n; j++) {
                    out[i][j] += x * right[l][j];
                }
            }
        }
        return out;
    }

    /** {@code m}ᵀ. */
    public static double[][] transpose(double[][] m) {
        double[][] out = new double[m[0].length][m.length];
        for (int i = 0; i < m.length; i++) {
            for (int j = 0; j < m[0].length; j++) {
                out[j][i] = m[i][j];
            }
        }
        return out;
    }

    private static double[][] identity(int k) {
        double[][] out = new double[k][k];
        for (int i = 0; i < k; i++) {
            out[i][i] = 1;
        }
        return out;
    }

    private static double[][] copy(double[][] m) {
        double[][] out = new double[m.length][];
        for (int i = 0; i < m.length; i++) {
            out[i] = m[i].clone();
        }
        return out;
    }
}
