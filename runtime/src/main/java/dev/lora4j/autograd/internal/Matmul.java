package dev.lora4j.autograd.internal;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.dnnl_matmul_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_post_ops_append_sum;
import static org.bytedeco.dnnl.global.dnnl.dnnl_post_ops_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_post_ops_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_set_output_scales;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_set_post_ops;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;

import org.bytedeco.dnnl.const_dnnl_op_desc_t;
import org.bytedeco.dnnl.dnnl_matmul_desc_t;
import org.bytedeco.dnnl.dnnl_memory_desc_t;
import org.bytedeco.dnnl.dnnl_post_ops;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Float32 batched products {@code c ← α·op(a)·op(b) + β·c} as one oneDNN matmul primitive, a batch
 * of products in one call (attention's per-head products are small, 18 × 32 by 32 × 18 for a short
 * batch, and one {@code dnnl_sgemm} per head and sentence cost more than its arithmetic;
 * BENCHMARKS.md, "oneDNN GEMMs"). α is the primitive's output scale, β its sum post-operation.
 * Transposes are read as swapped strides, so permuted views go in as they lie. Primitives are kept
 * by {@link OneDnn}.
 */
final class Matmul {

    private Matmul() {}

    /**
     * {@code c ← α·op(a)·op(b) + β·c}; shapes already checked, every operand float32 with a unit
     * stride in one of its last two dimensions. Returns false, having done nothing, when oneDNN has no
     * matmul for these strides.
     */
    static boolean multiply(INDArray a, INDArray b, INDArray c, boolean transposeA, boolean transposeB, float alpha,
            float beta) {
        long[] aDims = swapLastTwo(a.shape(), transposeA);
        long[] aStrides = canonical(aDims, swapLastTwo(a.stride(), transposeA));
        long[] bDims = swapLastTwo(b.shape(), transposeB);
        long[] bStrides = canonical(bDims, swapLastTwo(b.stride(), transposeB));
        long[] cDims = c.shape();
        long[] cStrides = canonical(cDims, c.stride());
        long[] settings = {Float.floatToIntBits(alpha), Float.floatToIntBits(beta)};
        OneDnn.Primitive p = OneDnn.primitive(OneDnn.Key.of("matmul", aDims, aStrides, bDims, bStrides, cDims, cStrides,
                settings), () -> create(aDims, aStrides, bDims, bStrides, cDims, cStrides, alpha, beta));
        if (p == null) {
            return false;
        }
        p.execute(a, b, c);
        return true;
    }

    private static OneDnn.@Nullable Primitive create(long[] aDims, long[] aStrides, long[] bDims, long[] bStrides,
            long[] cDims, long[] cStrides, float alpha, float beta) {
        dnnl_memory_desc_t src = OneDnn.floatDesc(aDims, aStrides);
        dnnl_memory_desc_t weights = OneDnn.floatDesc(bDims, bStrides);
        dnnl_memory_desc_t dst = OneDnn.floatDesc(cDims, cStrides);
        dnnl_matmul_desc_t matmul = new dnnl_matmul_desc_t();
        if (src == null || weights == null || dst == null
                || dnnl_matmul_desc_init(matmul, src, weights, null, dst) != dnnl_success) {
            return null;
        }
        dnnl_primitive_attr attr = new dnnl_primitive_attr();
        dnnl_post_ops postOps = new dnnl_post_ops();
        try {
            if (dnnl_primitive_attr_create(attr) != dnnl_success) {
                return null;
            }
            if (alpha != 1f && dnnl_primitive_attr_set_output_scales(attr, 1, 0, new float[] {alpha}) != dnnl_success) {
                return null;
            }
            if (beta != 0f && (dnnl_post_ops_create(postOps) != dnnl_success
                    || dnnl_post_ops_append_sum(postOps, beta) != dnnl_success
                    || dnnl_primitive_attr_set_post_ops(attr, postOps) != dnnl_success)) {
                return null;
            }
            dnnl_primitive_desc descriptor = new dnnl_primitive_desc();
            if (dnnl_primitive_desc_create(descriptor, new const_dnnl_op_desc_t(matmul), attr, OneDnn.engine(), null)
                    != dnnl_success) {
                return null;
            }
            return OneDnn.Primitive.create("matmul", descriptor, new int[] {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                    new dnnl_memory_desc_t[] {src, weights, dst});
        } finally {
            if (!postOps.isNull()) {
                dnnl_post_ops_destroy(postOps);
            }
            if (!attr.isNull()) {
                dnnl_primitive_attr_destroy(attr);
            }
        }
    }

    /**
     * The strides with those of size-1 dimensions (which never move) replaced by the extent of the
     * dimension after it, as a dense layout would have them: ND4J gives such dimensions arbitrary
     * strides, which oneDNN accepts in a descriptor and then refuses to run.
     */
    private static long[] canonical(long[] dims, long[] strides) {
        long[] out = strides.clone();
        for (int d = dims.length - 1; d >= 0; d--) {
            if (dims[d] == 1) {
                out[d] = d == dims.length - 1 ? 1 : Math.max(1, dims[d + 1]) * out[d + 1];
            }
        }
        return out;
    }

    private static long[] swapLastTwo(long[] values, boolean swap) {
        long[] out = values.clone();
        if (swap) {
            int r = out.length;
            out[r - 2] = values[r - 1];
            out[r - 1] = values[r - 2];
        }
        return out;
    }
}
