package dev.lora4j.autograd.internal;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SCALE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SHIFT;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_MEAN;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCALE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SHIFT;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_0;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_1;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_VARIANCE;
import static org.bytedeco.dnnl.global.dnnl.dnnl_backward;
import static org.bytedeco.dnnl.global.dnnl.dnnl_binary_add;
import static org.bytedeco.dnnl.global.dnnl.dnnl_binary_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_binary_mul;
import static org.bytedeco.dnnl.global.dnnl.dnnl_eltwise_backward_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_eltwise_forward_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_eltwise_gelu_erf;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_training;
import static org.bytedeco.dnnl.global.dnnl.dnnl_layer_normalization_backward_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_layer_normalization_forward_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_init_by_strides;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_set_scales;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_softmax_backward_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_softmax_forward_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;
import static org.bytedeco.dnnl.global.dnnl.dnnl_u8;
import static org.bytedeco.dnnl.global.dnnl.dnnl_use_scale;
import static org.bytedeco.dnnl.global.dnnl.dnnl_use_shift;

import org.bytedeco.dnnl.const_dnnl_op_desc_t;
import org.bytedeco.dnnl.dnnl_binary_desc_t;
import org.bytedeco.dnnl.dnnl_eltwise_desc_t;
import org.bytedeco.dnnl.dnnl_layer_normalization_desc_t;
import org.bytedeco.dnnl.dnnl_memory_desc_t;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_softmax_desc_t;
import java.util.Arrays;
import java.util.function.Function;
import java.util.function.Supplier;
import org.bytedeco.javacpp.Pointer;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * GELU, layer normalisation and softmax on float32 row-major arrays through oneDNN's primitives
 * ({@link OneDnn}), forward and backward; a linear layer's bias added to its product; element-wise
 * sums and products (residual connections, gradients summed, dropout's mask), in native vector code
 * where ND4J's own loops took 1.2–1.7 times as long in the training step. Each method returns false
 * (or {@code null}), having done nothing, where oneDNN is not used in this process ({@link
 * Gemm#usesOneDnn}) or refuses the operation; the caller then runs its own kernel.
 */
public final class OneDnnKernels {

    /**
     * Whether these kernels run in this process: where oneDNN runs the products ({@link
     * Gemm#usesOneDnn}), unless the system property {@code lora4j.kernels=java} keeps the element-wise
     * work on lora4j's own kernels (for comparisons).
     */
    private static final boolean ENABLED = Gemm.usesOneDnn() && !"java".equals(System.getProperty("lora4j.kernels"));

    private OneDnnKernels() {}

    /** Whether float32 arrays of this kind can go to oneDNN: plain row-major float32 arrays. */
    static boolean eligible(INDArray... arrays) {
        if (!ENABLED) {
            return false;
        }
        for (INDArray a : arrays) {
            if (a.dataType() != DataType.FLOAT || !Shapes.isPlain(a)) {
                return false;
            }
        }
        return true;
    }

    /** {@code y ← x·Φ(x)} (erf GELU) element by element. */
    public static boolean geluForward(INDArray x, INDArray y) {
        if (!eligible(x, y) || x.length() != y.length() || x.length() == 0) {
            return false;
        }
        long n = x.length();
        return run(OneDnn.Key.of("gelu", new long[] {n}), () -> {
            dnnl_memory_desc_t data = OneDnn.floatDesc(n);
            dnnl_primitive_desc forward = geluForwardDescriptor(data);
            return OneDnn.Primitive.create("gelu", forward, new int[] {DNNL_ARG_SRC, DNNL_ARG_DST},
                    new dnnl_memory_desc_t[] {data, data});
        }, x, y);
    }

    /** {@code dx ← g·(Φ(x) + x·φ(x))}, the gradient of {@link #geluForward} for output gradient g. */
    public static boolean geluBackward(INDArray x, INDArray g, INDArray dx) {
        if (!eligible(x, g, dx) || x.length() != g.length() || x.length() != dx.length() || x.length() == 0) {
            return false;
        }
        long n = x.length();
        return run(OneDnn.Key.of("gelu_backward", new long[] {n}), () -> {
            dnnl_memory_desc_t data = OneDnn.floatDesc(n);
            dnnl_primitive_desc backward = backward(geluForwardDescriptor(data), hint -> {
                dnnl_eltwise_desc_t desc = new dnnl_eltwise_desc_t();
                return desc(dnnl_eltwise_backward_desc_init(desc, dnnl_eltwise_gelu_erf, data, data, 0f, 0f), desc,
                        hint);
            });
            return OneDnn.Primitive.create("gelu_backward", backward,
                    new int[] {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC},
                    new dnnl_memory_desc_t[] {data, data, data});
        }, x, g, dx);
    }

    private static @Nullable dnnl_primitive_desc geluForwardDescriptor(@Nullable dnnl_memory_desc_t data) {
        if (data == null) {
            return null;
        }
        dnnl_eltwise_desc_t desc = new dnnl_eltwise_desc_t();
        return desc(dnnl_eltwise_forward_desc_init(desc, dnnl_forward_training, dnnl_eltwise_gelu_erf, data, 0f, 0f),
                desc, null);
    }

    /**
     * Normalises each row of {@code x [rows, width]} and scales and shifts it by {@code gamma} and
     * {@code beta [width]} into {@code y}, keeping each row's mean and (biased) variance in {@code
     * mean} and {@code variance [rows]} for the backward pass.
     */
    public static boolean layerNormForward(INDArray x, INDArray gamma, INDArray beta, double epsilon, INDArray y,
            INDArray mean, INDArray variance) {
        if (!eligible(x, gamma, beta, y, mean, variance) || x.rank() != 2 || x.length() == 0) {
            return false;
        }
        long rows = x.size(0);
        long width = x.size(1);
        float eps = (float) epsilon;
        return run(OneDnn.Key.of("layer_norm", new long[] {rows, width, Float.floatToIntBits(eps)}), () -> {
                    dnnl_memory_desc_t data = OneDnn.floatDesc(rows, width);
                    dnnl_memory_desc_t stats = OneDnn.floatDesc(rows);
                    dnnl_memory_desc_t params = OneDnn.floatDesc(width);
                    dnnl_primitive_desc forward = layerNormForwardDescriptor(data, stats, eps);
                    return OneDnn.Primitive.create("layer_norm", forward,
                            new int[] {DNNL_ARG_SRC, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_DST, DNNL_ARG_MEAN,
                                DNNL_ARG_VARIANCE},
                            new dnnl_memory_desc_t[] {data, params, params, data, stats, stats});
                }, x, gamma, beta, y, mean, variance);
    }

    /**
     * The gradients of {@link #layerNormForward} for output gradient {@code g}: the input's into
     * {@code dx}, the scale's and shift's into {@code dGamma} and {@code dBeta [width]} (written, not
     * added; oneDNN 2.5 has no backward pass without them, so a caller that needs neither passes
     * scratch arrays).
     */
    public static boolean layerNormBackward(INDArray x, INDArray gamma, INDArray beta, INDArray mean, INDArray variance,
            INDArray g, double epsilon, INDArray dx, INDArray dGamma, INDArray dBeta) {
        if (!eligible(x, gamma, beta, mean, variance, g, dx, dGamma, dBeta) || x.rank() != 2 || x.length() == 0) {
            return false;
        }
        long rows = x.size(0);
        long width = x.size(1);
        float eps = (float) epsilon;
        return run(OneDnn.Key.of("layer_norm_backward", new long[] {rows, width, Float.floatToIntBits(eps)}), () -> {
                    dnnl_memory_desc_t data = OneDnn.floatDesc(rows, width);
                    dnnl_memory_desc_t stats = OneDnn.floatDesc(rows);
                    dnnl_memory_desc_t params = OneDnn.floatDesc(width);
                    dnnl_primitive_desc backward = backward(layerNormForwardDescriptor(data, stats, eps), hint -> {
                        dnnl_layer_normalization_desc_t desc = new dnnl_layer_normalization_desc_t();
                        return desc(dnnl_layer_normalization_backward_desc_init(desc, dnnl_backward,
                            data, data, stats, eps, dnnl_use_scale | dnnl_use_shift), desc, hint);
                    });
                    // oneDNN 2.5's backward pass reads the shift's memory argument although it does not use it
                    return OneDnn.Primitive.create("layer_norm_backward", backward,
                            new int[] {DNNL_ARG_SRC, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN,
                                DNNL_ARG_VARIANCE, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC, DNNL_ARG_DIFF_SCALE,
                                DNNL_ARG_DIFF_SHIFT},
                            new dnnl_memory_desc_t[] {data, params, params, stats, stats, data, data, params,
                                params});
                }, x, gamma, beta, mean, variance, g, dx, dGamma, dBeta);
    }

    private static @Nullable dnnl_primitive_desc layerNormForwardDescriptor(@Nullable dnnl_memory_desc_t data,
            @Nullable dnnl_memory_desc_t stats, float eps) {
        if (data == null || stats == null) {
            return null;
        }
        dnnl_layer_normalization_desc_t desc = new dnnl_layer_normalization_desc_t();
        return desc(dnnl_layer_normalization_forward_desc_init(desc, dnnl_forward_training, data, stats, eps,
                dnnl_use_scale | dnnl_use_shift), desc, null);
    }

    /** {@code c[i, j] ← c[i, j] + row[j]} for every row of the matrix c (a linear layer's bias). */
    public static boolean addRowInPlace(INDArray c, INDArray row) {
        if (!eligible(c, row) || c.rank() != 2 || c.length() == 0 || row.length() != c.size(1)) {
            return false;
        }
        return sum(c, row, c, c.shape(), new long[] {1, c.size(1)});
    }

    /**
     * {@code out[i] ← x[i]·(scale·mask[i])}, the mask one unsigned byte per element (0 or 1), read in
     * row-major order: dropout's product, forward and backward ({@code scale = 1/(1−p)}); out may be
     * x. oneDNN reads the byte and applies the scale as it multiplies, so the mask takes a quarter of
     * a float mask's memory and the product is the float product {@code x·scale} or {@code x·0}.
     */
    public static boolean multiplyByMask(INDArray x, INDArray mask, float scale, INDArray out) {
        long n = x.length();
        if (!eligible(x, out) || mask.dataType() != DataType.UBYTE || !Shapes.isPlain(mask) || n == 0
                || mask.length() != n || out.length() != n) {
            return false;
        }
        return run(OneDnn.Key.of("mask_multiply", new long[] {n, Float.floatToIntBits(scale)}), () -> {
            dnnl_memory_desc_t data = OneDnn.floatDesc(n);
            dnnl_memory_desc_t bytes = new dnnl_memory_desc_t();
            if (data == null || dnnl_memory_desc_init_by_strides(bytes, 1, new long[] {n}, dnnl_u8, new long[] {1})
                    != dnnl_success) {
                return null;
            }
            dnnl_primitive_attr attr = new dnnl_primitive_attr();
            if (dnnl_primitive_attr_create(attr) != dnnl_success) {
                return null;
            }
            try {
                dnnl_binary_desc_t desc = new dnnl_binary_desc_t();
                return dnnl_primitive_attr_set_scales(attr, DNNL_ARG_SRC_1, 1, 0, new float[] {scale}) != dnnl_success
                        ? null
                        : OneDnn.Primitive.create("mask_multiply",
                                desc(dnnl_binary_desc_init(desc, dnnl_binary_mul, data, bytes, data), desc, attr, null),
                                new int[] {DNNL_ARG_SRC_0, DNNL_ARG_SRC_1, DNNL_ARG_DST},
                                new dnnl_memory_desc_t[] {data, bytes, data});
            } finally {
                dnnl_primitive_attr_destroy(attr);
            }
        }, x, mask, out);
    }

    /**
     * {@code out[i] ← a[i] + b[i]} over arrays of the same length, read in row-major order (a
     * residual connection, a gradient summed); out may be a or b.
     */
    public static boolean add(INDArray a, INDArray b, INDArray out) {
        long n = a.length();
        if (!eligible(a, b, out) || n == 0 || b.length() != n || out.length() != n) {
            return false;
        }
        return sum(a, b, out, new long[] {n}, new long[] {n});
    }

    /**
     * {@code c ← c + addend} in place, the addend broadcast numpy's way over dimensions where it has
     * size 1 (an attention mask {@code [batch, 1, 1, keys]} added to every head's and query's scores);
     * the addend has c's rank, or fewer dimensions, read as leading ones.
     */
    public static boolean addInPlace(INDArray c, INDArray addend) {
        int rank = c.rank();
        if (!eligible(c, addend) || c.length() == 0 || addend.rank() > rank) {
            return false;
        }
        long[] cDims = c.shape();
        long[] addendDims = new long[rank];
        Arrays.fill(addendDims, 1);
        System.arraycopy(addend.shape(), 0, addendDims, rank - addend.rank(), addend.rank());
        for (int d = 0; d < rank; d++) {
            if (addendDims[d] != 1 && addendDims[d] != cDims[d]) {
                return false;
            }
        }
        return sum(c, addend, c, cDims, addendDims);
    }

    /** {@code a + b} as a new plain array, or {@code null} where oneDNN cannot add these two (the caller adds them). */
    public static @Nullable INDArray add(INDArray a, INDArray b) {
        if (!eligible(a, b) || a.length() == 0 || !Arrays.equals(a.shape(), b.shape())) {
            return null;
        }
        INDArray out = Nd4j.createUninitialized(a.dataType(), a.shape());
        return add(a, b, out) ? out : null;
    }

    /**
     * {@code out ← a + b} by oneDNN's binary primitive, a read as {@code aDims} and b as {@code
     * bDims} (b broadcast where its dimension is 1); the arrays already checked.
     */
    private static boolean sum(INDArray a, INDArray b, INDArray out, long[] aDims, long[] bDims) {
        return run(OneDnn.Key.of("add", aDims, bDims), () -> {
            dnnl_memory_desc_t data = OneDnn.floatDesc(aDims);
            dnnl_memory_desc_t other = OneDnn.floatDesc(bDims);
            if (data == null || other == null) {
                return null;
            }
            dnnl_binary_desc_t desc = new dnnl_binary_desc_t();
            return OneDnn.Primitive.create("add",
                    desc(dnnl_binary_desc_init(desc, dnnl_binary_add, data, other, data), desc, null),
                    new int[] {DNNL_ARG_SRC_0, DNNL_ARG_SRC_1, DNNL_ARG_DST},
                    new dnnl_memory_desc_t[] {data, other, data});
        }, a, b, out);
    }

    /** Softmax of each row of {@code x [rows, width]} into {@code y} (which may be x itself). */
    public static boolean softmaxForward(INDArray x, INDArray y) {
        if (!eligible(x, y) || x.rank() != 2 || x.length() == 0) {
            return false;
        }
        long rows = x.size(0);
        long width = x.size(1);
        return run(OneDnn.Key.of("softmax", new long[] {rows, width}), () -> {
            dnnl_memory_desc_t data = OneDnn.floatDesc(rows, width);
            dnnl_primitive_desc forward = softmaxForwardDescriptor(data);
            return OneDnn.Primitive.create("softmax", forward, new int[] {DNNL_ARG_SRC, DNNL_ARG_DST},
                    new dnnl_memory_desc_t[] {data, data});
        }, x, y);
    }

    /** {@code dx ← y ⊙ (g − Σ g ⊙ y)} per row, the gradient of a softmax whose output is y. */
    public static boolean softmaxBackward(INDArray y, INDArray g, INDArray dx) {
        if (!eligible(y, g, dx) || y.rank() != 2 || y.length() == 0) {
            return false;
        }
        long rows = y.size(0);
        long width = y.size(1);
        return run(OneDnn.Key.of("softmax_backward", new long[] {rows, width}), () -> {
            dnnl_memory_desc_t data = OneDnn.floatDesc(rows, width);
            dnnl_primitive_desc backward = backward(softmaxForwardDescriptor(data), hint -> {
                dnnl_softmax_desc_t desc = new dnnl_softmax_desc_t();
                return desc(dnnl_softmax_backward_desc_init(desc, data, data, 1), desc, hint);
            });
            return OneDnn.Primitive.create("softmax_backward", backward,
                    new int[] {DNNL_ARG_DST, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC},
                    new dnnl_memory_desc_t[] {data, data, data});
        }, y, g, dx);
    }

    private static @Nullable dnnl_primitive_desc softmaxForwardDescriptor(@Nullable dnnl_memory_desc_t data) {
        if (data == null) {
            return null;
        }
        dnnl_softmax_desc_t desc = new dnnl_softmax_desc_t();
        return desc(dnnl_softmax_forward_desc_init(desc, dnnl_forward_training, data, 1), desc, null);
    }

    /**
     * Runs the calling thread's primitive for {@code key} (made by {@code factory} the first time)
     * on the operands; false, having done nothing, where oneDNN has no such primitive.
     */
    private static boolean run(OneDnn.Key key, Supplier<OneDnn.@Nullable Primitive> factory, INDArray... operands) {
        OneDnn.Primitive p = OneDnn.primitive(key, factory);
        if (p == null) {
            return false;
        }
        p.execute(operands);
        return true;
    }

    /** A backward primitive's descriptor, made with its forward descriptor as the hint (destroyed after). */
    private static @Nullable dnnl_primitive_desc backward(@Nullable dnnl_primitive_desc hint,
            Function<dnnl_primitive_desc, @Nullable dnnl_primitive_desc> backward) {
        if (hint == null) {
            return null;
        }
        try {
            return backward.apply(hint);
        } finally {
            dnnl_primitive_desc_destroy(hint);
        }
    }

    /** The primitive descriptor of an operation descriptor whose init returned {@code status}, or {@code null}. */
    private static @Nullable dnnl_primitive_desc desc(int status, Pointer opDesc, @Nullable dnnl_primitive_desc hint) {
        return desc(status, opDesc, null, hint);
    }

    /** The primitive descriptor of an operation with these attributes ({@code null}: the defaults). */
    private static @Nullable dnnl_primitive_desc desc(int status, Pointer opDesc, @Nullable dnnl_primitive_attr attr,
            @Nullable dnnl_primitive_desc hint) {
        if (status != dnnl_success) {
            return null;
        }
        dnnl_primitive_desc descriptor = new dnnl_primitive_desc();
        return dnnl_primitive_desc_create(descriptor, new const_dnnl_op_desc_t(opDesc), attr, OneDnn.engine(), hint)
                == dnnl_success ? descriptor : null;
    }
}
