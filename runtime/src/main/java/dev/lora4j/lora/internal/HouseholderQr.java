package dev.lora4j.lora.internal;

/**
 * The leading part of the QR decomposition {@code W = Q·R} of a matrix {@code W [m][n]}: the first
 * {@code r} columns of {@code Q} and the first {@code r} rows of {@code R}, computed in double
 * precision by {@code r} Householder reflections with LAPACK's conventions ({@code dgeqrf}/{@code
 * dlarfg}, what {@code torch.linalg.qr} calls): the reflection of step {@code j} maps the column
 * {@code (α, x)} to {@code (β, 0)} with {@code β = −sign(α)·‖(α, x)‖} (and leaves it when {@code x
 * = 0}), so the signs of {@code R}'s diagonal, and with them of {@code Q}'s columns, are LAPACK's.
 * Later reflections do not touch the first {@code r} rows of {@code R} nor, applied to the first
 * {@code r} unit vectors, the first {@code r} columns of {@code Q}; {@code r} steps are enough.
 * Cost {@code O(m·n·r)}.
 */
public final class HouseholderQr {

    private final double[][] q;
    private final double[][] r;

    private HouseholderQr(double[][] q, double[][] r) {
        this.q = q;
        this.r = r;
    }

    /**
     * The first {@code rank} columns of {@code Q} and rows of {@code R} of {@code w}.
     *
     * @throws IllegalArgumentException when {@code rank} is not in {@code [1, min(m, n)]}
     */
    public static HouseholderQr leading(double[][] w, int rank) {
        int m = w.length;
        int n = w[0].length;
        if (rank < 1 || rank > Math.min(m, n)) {
            throw new IllegalArgumentException("QR: rank must be in [1, " + Math.min(m, n) + "], got " + rank);
        }
        double[][] a = new double[m][];
        for (int i = 0; i < m; i++) {
            a[i] = w[i].clone();
        }
        double[][] v = new double[rank][m]; // the reflectors, v[j][j] = 1, zero above
        double[] tau = new double[rank];
        for (int j = 0; j < rank; j++) {
            double alpha = a[j][j];
            double tail = 0;
            for (int i = j + 1; i < m; i++) {
                tail += a[i][j] * a[i][j];
            }
            v[j][j] = 1;
            if (tail == 0) {
                continue; // H = I: R[j][j] = α, whatever its sign (dlarfg)
            }
            double beta = -Math.copySign(Math.hypot(alpha, Math.sqrt(tail)), alpha);
            tau[j] = (beta - alpha) / beta;
            double scale = 1 / (alpha - beta);
            for (int i = j + 1; i < m; i++) {
                v[j][i] = a[i][j] * scale;
            }
            // apply H = I − τ·v·vᵀ to the columns j.. of a
            for (int c = j; c < n; c++) {
                double dot = 0;
                for (int i = j; i < m; i++) {
                    dot += v[j][i] * a[i][c];
                }
                dot *= tau[j];
                for (int i = j; i < m; i++) {
                    a[i][c] -= dot * v[j][i];
                }
            }
        }
        double[][] r = new double[rank][n];
        for (int i = 0; i < rank; i++) {
            for (int c = i; c < n; c++) {
                r[i][c] = a[i][c];
            }
        }
        // Q[:, :rank] = H_0·…·H_{rank−1}·E_rank, applying the last reflection first
        double[][] q = new double[m][rank];
        for (int i = 0; i < rank; i++) {
            q[i][i] = 1;
        }
        for (int j = rank - 1; j >= 0; j--) {
            if (tau[j] == 0) {
                continue;
            }
            for (int c = 0; c < rank; c++) {
                double dot = 0;
                for (int i = j; i < m; i++) {
                    dot += v[j][i] * q[i][c];
                }
                dot *= tau[j];
                for (int i = j; i < m; i++) {
                    q[i][c] -= dot * v[j][i];
                }
            }
        }
        return new HouseholderQr(q, r);
    }

    /** The first {@code rank} columns of {@code Q}, {@code [m][rank]}, orthonormal. */
    public double[][] q() {
        return q;
    }

    /** The first {@code rank} rows of {@code R}, {@code [rank][n]}, upper triangular. */
    public double[][] r() {
        return r;
    }
}
