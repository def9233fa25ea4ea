package dev.lora4j.autograd.internal;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu;
import static org.bytedeco.dnnl.global.dnnl.dnnl_engine_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_f32;
import static org.bytedeco.dnnl.global.dnnl.dnnl_matmul_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_init_by_strides;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_set_data_handle;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_execute;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_default_flags;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_wait;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.dnnl.const_dnnl_op_desc_t;
import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_matmul_desc_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc_t;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Batched float32 products {@code c = op(a)·op(b)} as one oneDNN matmul primitive over all the
 * batch entries, instead of one {@code dnnl_sgemm} per entry: attention's per-head products are
 * small (18 × 32 by 32 × 18 for a short batch), and one call per head and sentence cost more than
 * its arithmetic (BENCHMARKS.md, "oneDNN GEMMs"). Transposes are read as swapped strides, so
 * permuted views go in as they lie. A primitive is made once per shape and strides and kept per
 * thread (oneDNN's primitives and streams are used from one thread here), the least recently used
 * destroyed beyond {@value #KEPT}.
 */
final class BatchedMatmul {

    /** Primitives kept per thread: a few product kinds times the batch lengths seen. */
    static final int KEPT = 256;

    private static final dnnl_engine ENGINE = engine();
    private static final ThreadLocal<Primitives> PRIMITIVES = ThreadLocal.withInitial(Primitives::new);

    private BatchedMatmul() {}

    /**
     * {@code c ← op(a)·op(b)}; shapes already checked, every operand float32 with a unit stride in one
     * of its last two dimensions. Returns false, having done nothing, when oneDNN has no matmul for
     * these strides.
     */
    static boolean multiply(INDArray a, INDArray b, INDArray c, boolean transposeA, boolean transposeB) {
        long[] aDims = dims(a, transposeA);
        long[] aStrides = strides(a, transposeA);
        long[] bDims = dims(b, transposeB);
        long[] bStrides = strides(b, transposeB);
        Key key = new Key(concat(aDims, aStrides, bDims, bStrides, c.shape(), c.stride()));
        Primitives cache = PRIMITIVES.get();
        Entry entry = cache.entries.get(key);
        if (entry == null) {
            entry = Entry.create(aDims, aStrides, bDims, bStrides, c.shape(), c.stride());
            cache.entries.put(key, entry);
        }
        if (entry == Entry.UNSUPPORTED) {
            return false;
        }
        check(dnnl_memory_set_data_handle(entry.src, a.data().addressPointer()), "set source", a);
        check(dnnl_memory_set_data_handle(entry.weights, b.data().addressPointer()), "set weights", b);
        check(dnnl_memory_set_data_handle(entry.dst, c.data().addressPointer()), "set destination", c);
        check(dnnl_primitive_execute(entry.primitive, cache.stream, 3, entry.args), "execute", a);
        check(dnnl_stream_wait(cache.stream), "wait", a);
        return true;
    }

    private static long[] dims(INDArray x, boolean transpose) {
        return swapLastTwo(x.shape(), transpose);
    }

    private static long[] strides(INDArray x, boolean transpose) {
        return swapLastTwo(x.stride(), transpose);
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

    private static long[] concat(long[]... parts) {
        int n = 0;
        for (long[] p : parts) {
            n += p.length;
        }
        long[] out = new long[n];
        int i = 0;
        for (long[] p : parts) {
            System.arraycopy(p, 0, out, i, p.length);
            i += p.length;
        }
        return out;
    }

    private static void check(int status, String what, INDArray operand) {
        if (status != dnnl_success) {
            throw new IllegalStateException("oneDNN matmul: " + what + " failed with status " + status + " for "
                    + Arrays.toString(operand.shape()));
        }
    }

    private static dnnl_engine engine() {
        dnnl_engine engine = new dnnl_engine();
        int status = dnnl_engine_create(engine, dnnl_cpu, 0);
        if (status != dnnl_success) {
            throw new IllegalStateException("oneDNN: no CPU engine (status " + status + ")");
        }
        return engine;
    }

    private record Key(long[] values) {
        @Override
        public boolean equals(Object other) {
            return other instanceof Key k && Arrays.equals(values, k.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return Arrays.toString(values);
        }
    }

    /** One thread's stream and primitives. */
    private static final class Primitives {
        final dnnl_stream stream = new dnnl_stream();
        final Map<Key, Entry> entries = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Key, Entry> eldest) {
                if (size() > KEPT) {
                    eldest.getValue().destroy();
                    return true;
                }
                return false;
            }
        };

        Primitives() {
            int status = dnnl_stream_create(stream, ENGINE, dnnl_stream_default_flags);
            if (status != dnnl_success) {
                throw new IllegalStateException("oneDNN: no stream (status " + status + ")");
            }
        }
    }

    /** A matmul primitive with its three memory objects, their data pointers set at each use. */
    private static final class Entry {
        static final Entry UNSUPPORTED = new Entry(null, null, null, null);

        final dnnl_primitive primitive;
        final dnnl_memory src;
        final dnnl_memory weights;
        final dnnl_memory dst;
        final dnnl_exec_arg_t args;

        private Entry(dnnl_primitive primitive, dnnl_memory src, dnnl_memory weights, dnnl_memory dst) {
            this.primitive = primitive;
            this.src = src;
            this.weights = weights;
            this.dst = dst;
            if (primitive == null) {
                this.args = null;
                return;
            }
            this.args = new dnnl_exec_arg_t(3);
            args.position(0).arg(DNNL_ARG_SRC).memory(src);
            args.position(1).arg(DNNL_ARG_WEIGHTS).memory(weights);
            args.position(2).arg(DNNL_ARG_DST).memory(dst);
            args.position(0);
        }

        static Entry create(long[] aDims, long[] aStrides, long[] bDims, long[] bStrides, long[] cDims,
                long[] cStrides) {
            dnnl_memory_desc_t srcDesc = new dnnl_memory_desc_t();
            dnnl_memory_desc_t weightsDesc = new dnnl_memory_desc_t();
            dnnl_memory_desc_t dstDesc = new dnnl_memory_desc_t();
            dnnl_matmul_desc_t matmul = new dnnl_matmul_desc_t();
            if (dnnl_memory_desc_init_by_strides(srcDesc, aDims.length, aDims, dnnl_f32, aStrides) != dnnl_success
                    || dnnl_memory_desc_init_by_strides(weightsDesc, bDims.length, bDims, dnnl_f32, bStrides)
                            != dnnl_success
                    || dnnl_memory_desc_init_by_strides(dstDesc, cDims.length, cDims, dnnl_f32, cStrides)
                            != dnnl_success
                    || dnnl_matmul_desc_init(matmul, srcDesc, weightsDesc, null, dstDesc) != dnnl_success) {
                return UNSUPPORTED;
            }
            dnnl_primitive_desc descriptor = new dnnl_primitive_desc();
            if (dnnl_primitive_desc_create(descriptor, new const_dnnl_op_desc_t(matmul), null, ENGINE, null)
                    != dnnl_success) {
                return UNSUPPORTED;
            }
            dnnl_primitive primitive = new dnnl_primitive();
            int status = dnnl_primitive_create(primitive, descriptor);
            dnnl_primitive_desc_destroy(descriptor);
            if (status != dnnl_success) {
                return UNSUPPORTED;
            }
            dnnl_memory src = new dnnl_memory();
            dnnl_memory weights = new dnnl_memory();
            dnnl_memory dst = new dnnl_memory();
            if (dnnl_memory_create(src, srcDesc, ENGINE, null) != dnnl_success
                    || dnnl_memory_create(weights, weightsDesc, ENGINE, null) != dnnl_success
                    || dnnl_memory_create(dst, dstDesc, ENGINE, null) != dnnl_success) {
                dnnl_primitive_destroy(primitive);
                return UNSUPPORTED;
            }
            return new Entry(primitive, src, weights, dst);
        }

        void destroy() {
            if (primitive != null) {
                dnnl_primitive_destroy(primitive);
                dnnl_memory_destroy(src);
                dnnl_memory_destroy(weights);
                dnnl_memory_destroy(dst);
            }
        }
    }
}
