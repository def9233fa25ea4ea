package dev.lora4j.testing;

import dev.lora4j.autograd.ConvGeometry;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Direct loops over NCHW arrays, in double precision, written from the definitions (PyTorch's
 * semantics) and sharing no code with the runtime: the reference the fast implementations are
 * checked against.
 */
public final class NaiveConv {

    private NaiveConv() {}

    /**
     * {@code y[n, o, i, j] = b[o] + Σ_{c in group(o), u, v} x[n, c, i·sh − ph + u·dh, j·sw − pw + v·dw] · w[o, c − c0, u, v]},
     * out-of-range positions counting as zero.
     */
    public static INDArray conv2d(INDArray x, INDArray w, INDArray b, ConvGeometry g) {
        double[][][][] in = four(x);
        double[][][][] k = four(w);
        double[] bias = b == null ? null : b.castTo(DataType.DOUBLE).toDoubleVector();
        int n = in.length;
        int c = in[0].length;
        int h = in[0][0].length;
        int wd = in[0][0][0].length;
        int o = k.length;
        int cg = k[0].length;
        int kh = k[0][0].length;
        int kw = k[0][0][0].length;
        int oh = (int) g.outputHeight(h, kh);
        int ow = (int) g.outputWidth(wd, kw);
        int og = o / g.groups();
        double[] out = new double[n * o * oh * ow];
        int at = 0;
        for (int s = 0; s < n; s++) {
            for (int oc = 0; oc < o; oc++) {
                int c0 = (oc / og) * cg;
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double sum = bias == null ? 0 : bias[oc];
                        for (int ci = 0; ci < cg; ci++) {
                            for (int u = 0; u < kh; u++) {
                                int y = i * g.strideH() - g.padH() + u * g.dilationH();
                                if (y < 0 || y >= h) {
                                    continue;
                                }
                                for (int v = 0; v < kw; v++) {
                                    int xx = j * g.strideW() - g.padW() + v * g.dilationW();
                                    if (xx >= 0 && xx < wd) {
                                        sum += in[s][c0 + ci][y][xx] * k[oc][ci][u][v];
                                    }
                                }
                            }
                        }
                        out[at++] = sum;
                    }
                }
            }
        }
        if (c != cg * g.groups()) {
            throw new IllegalArgumentException("channels do not match");
        }
        return TestArrays.of(out, n, o, oh, ow);
    }

    /** Max over each window; padding never wins (−∞). */
    public static INDArray maxPool2d(INDArray x, int kh, int kw, ConvGeometry g) {
        return pool(x, kh, kw, g, true, true);
    }

    /** Mean over each window; {@code countIncludePad}: padded zeros count in the divisor. */
    public static INDArray avgPool2d(INDArray x, int kh, int kw, ConvGeometry g, boolean countIncludePad) {
        return pool(x, kh, kw, g, false, countIncludePad);
    }

    private static INDArray pool(INDArray x, int kh, int kw, ConvGeometry g, boolean max, boolean countIncludePad) {
        double[][][][] in = four(x);
        int n = in.length;
        int c = in[0].length;
        int h = in[0][0].length;
        int wd = in[0][0][0].length;
        int oh = (int) g.outputHeight(h, kh);
        int ow = (int) g.outputWidth(wd, kw);
        double[] out = new double[n * c * oh * ow];
        int at = 0;
        for (int s = 0; s < n; s++) {
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double best = Double.NEGATIVE_INFINITY;
                        double sum = 0;
                        int inside = 0;
                        int padded = 0;
                        for (int u = 0; u < kh; u++) {
                            for (int v = 0; v < kw; v++) {
                                int y = i * g.strideH() - g.padH() + u * g.dilationH();
                                int xx = j * g.strideW() - g.padW() + v * g.dilationW();
                                boolean in0 = y >= 0 && y < h && xx >= 0 && xx < wd;
                                // PyTorch's divisor counts positions inside the padded input, not beyond it
                                boolean inPadded = y >= -g.padH() && y < h + g.padH() && xx >= -g.padW() && xx < wd + g.padW();
                                if (inPadded) {
                                    padded++;
                                }
                                if (in0) {
                                    best = Math.max(best, in[s][ch][y][xx]);
                                    sum += in[s][ch][y][xx];
                                    inside++;
                                }
                            }
                        }
                        out[at++] = max ? best : sum / (countIncludePad ? padded : inside);
                    }
                }
            }
        }
        return TestArrays.of(out, n, c, oh, ow);
    }

    private static double[][][][] four(INDArray a) {
        INDArray d = a.castTo(DataType.DOUBLE).dup('c');
        long[] s = d.shape();
        double[] flat = d.data().asDouble();
        double[][][][] out = new double[(int) s[0]][(int) s[1]][(int) s[2]][(int) s[3]];
        int at = 0;
        for (double[][][] a0 : out) {
            for (double[][] a1 : a0) {
                for (double[] a2 : a1) {
                    for (int i = 0; i < a2.length; i++) {
                        a2[i] = flat[at++];
                    }
                }
            }
        }
        return out;
    }
}
