package dev.lora4j.lora.internal;

import dev.lora4j.api.LoraInit;
import dev.lora4j.lora.AdapterSettings;
import java.util.Random;

/**
 * The initial factors of an adapter that takes part of the base weight (PEFT's {@code pissa_init}
 * and {@code olora_init}), from the weight {@code W [out][in]} in PyTorch's layout, in double
 * precision, for the spec's rank {@code r} and scaling {@code s}:
 *
 * <ul>
 *   <li>PiSSA: with {@code W ≈ U·diag(S)·Vᵀ} ({@code r} triplets, largest first; the exact SVD, or
 *       {@link LowRankSvd#randomized} with {@link AdapterSettings#pissaNiter()} subspace iterations) and
 *       {@code S' = S/s}: {@code A = diag(√S')·Vᵀ [r][in]} and {@code B = U·diag(√S') [out][r]}, so
 *       {@code s·B·A = U·diag(S)·Vᵀ}.
 *   <li>OLoRA: with {@code W = Q·R} ({@link HouseholderQr}): {@code A = R[:r] [r][in]} and {@code B =
 *       Q[:, :r] [out][r]}, unscaled, so {@code s·B·A = s·Q_r·R_r}.
 * </ul>
 *
 * The caller leaves the residual {@code W − s·B·A} in the base weight.
 */
public final class BaseDecomposition {

    private BaseDecomposition() {}

    /**
     * {@code {A, B}} for {@code w}.
     *
     * @param random draws the randomized SVD's test matrix (PiSSA with subspace iterations only)
     * @throws IllegalArgumentException when the rank exceeds {@code min(out, in)} (PEFT would make
     *     factors of the wrong shape) or the init does not decompose the base weight
     */
    public static double[][][] factors(double[][] w, AdapterSettings spec, Random random) {
        int out = w.length;
        int in = w[0].length;
        int r = spec.rank();
        if (r > Math.min(out, in)) {
            throw new IllegalArgumentException("init " + spec.peftInit() + " needs a rank of at most min(out, in) = "
                    + Math.min(out, in) + " for a weight [" + out + ", " + in + "], got r=" + r);
        }
        if (spec.init() == LoraInit.OLORA) {
            HouseholderQr qr = HouseholderQr.leading(w, r);
            return new double[][][] {qr.r(), qr.q()};
        }
        if (spec.init() != LoraInit.PISSA) {
            throw new IllegalArgumentException("init " + spec.init() + " does not decompose the base weight");
        }
        LowRankSvd svd = spec.pissaNiter() < 0 ? LowRankSvd.of(w) : LowRankSvd.randomized(w, r, spec.pissaNiter(), random);
        double[] sigma = svd.singularValues();
        double[][] u = svd.u();
        double[][] v = svd.v();
        double[][] a = new double[r][in];
        double[][] b = new double[out][r];
        for (int c = 0; c < r; c++) {
            double root = Math.sqrt(sigma[c] / spec.scaling());
            for (int j = 0; j < in; j++) {
                a[c][j] = root * v[j][c];
            }
            for (int i = 0; i < out; i++) {
                b[i][c] = u[i][c] * root;
            }
        }
        return new double[][][] {a, b};
    }
}
