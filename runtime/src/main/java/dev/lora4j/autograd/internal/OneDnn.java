package dev.lora4j.autograd.internal;

import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu;
import static org.bytedeco.dnnl.global.dnnl.dnnl_engine_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_f32;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_init_by_strides;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_set_data_handle;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_execute;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_default_flags;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_wait;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;

import java.lang.ref.Cleaner;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc_t;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * oneDNN's CPU engine and the primitives lora4j runs on it (batched products, GELU, layer
 * normalisation, softmax): a primitive is made once per operation, shape and strides and kept per
 * thread with its memory objects, whose data pointers are set to ND4J's buffers at each use. oneDNN
 * compiles each primitive for the CPU's instruction sets when it is made, so the element-wise work
 * runs in vector code chosen at run time. Primitives and streams are used from one thread here; the
 * least recently used of a thread's primitives are destroyed beyond {@value #KEPT}, and all of them
 * once the thread has ended.
 */
final class OneDnn {

    /**
     * Primitives kept per thread: a dozen operation kinds times the batch lengths seen (the main
     * job's full run made 1,238 on its threads and, with 512 kept, destroyed 214 only to make them
     * again).
     */
    static final int KEPT = 1024;

    private static final ThreadLocal<Cache> CACHE = ThreadLocal.withInitial(Cache::new);
    private static final Cleaner CLEANER = Cleaner.create();
    private static final AtomicInteger LIVE_CACHES = new AtomicInteger();
    private static @Nullable dnnl_engine engine;

    private OneDnn() {}

    /** The CPU engine (made on first use). */
    static synchronized dnnl_engine engine() {
        if (engine == null) {
            dnnl_engine created = new dnnl_engine();
            int status = dnnl_engine_create(created, dnnl_cpu, 0);
            if (status != dnnl_success) {
                throw new IllegalStateException("oneDNN: no CPU engine (status " + status + ")");
            }
            engine = created;
        }
        return engine;
    }

    /**
     * The calling thread's primitive for {@code key}, made by {@code factory} the first time;
     * {@code null} when the factory found no primitive for it (remembered too).
     */
    static @Nullable Primitive primitive(Key key, Supplier<@Nullable Primitive> factory) {
        Cache cache = CACHE.get();
        Primitive p = cache.entries.get(key);
        if (p == null) {
            Primitive made = factory.get();
            p = made == null ? Primitive.UNSUPPORTED : made;
            cache.entries.put(key, p);
        }
        return p == Primitive.UNSUPPORTED ? null : p;
    }

    /** A float32 memory descriptor with these dimensions and strides, or {@code null} when oneDNN refuses it. */
    static @Nullable dnnl_memory_desc_t floatDesc(long[] dims, long[] strides) {
        dnnl_memory_desc_t desc = new dnnl_memory_desc_t();
        return dnnl_memory_desc_init_by_strides(desc, dims.length, dims, dnnl_f32, strides) == dnnl_success ? desc : null;
    }

    /** A float32 row-major memory descriptor. */
    static @Nullable dnnl_memory_desc_t floatDesc(long... dims) {
        long[] strides = new long[dims.length];
        long s = 1;
        for (int d = dims.length - 1; d >= 0; d--) {
            strides[d] = s;
            s *= Math.max(1, dims[d]);
        }
        return floatDesc(dims, strides);
    }

    /** A cache key: an operation's name and the numbers that make its primitive different. */
    record Key(String op, long[] values) {
        static Key of(String op, long[]... parts) {
            int n = 0;
            for (long[] p : parts) {
                n += p.length + 1;
            }
            long[] out = new long[n];
            int i = 0;
            for (long[] p : parts) {
                out[i++] = p.length;
                System.arraycopy(p, 0, out, i, p.length);
                i += p.length;
            }
            return new Key(op, out);
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Key k && op.equals(k.op) && Arrays.equals(values, k.values);
        }

        @Override
        public int hashCode() {
            return 31 * op.hashCode() + Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return op + Arrays.toString(values);
        }
    }

    /** A primitive with one memory object per argument, in the order given when it was made. */
    static final class Primitive {
        static final Primitive UNSUPPORTED = new Primitive();

        private final @Nullable dnnl_primitive primitive;
        private final dnnl_memory[] memories;
        private final @Nullable dnnl_exec_arg_t args;
        private final String name;

        private Primitive() {
            this.primitive = null;
            this.memories = new dnnl_memory[0];
            this.args = null;
            this.name = "unsupported";
        }

        private Primitive(String name, dnnl_primitive primitive, dnnl_memory[] memories, int[] argKinds) {
            this.name = name;
            this.primitive = primitive;
            this.memories = memories;
            this.args = new dnnl_exec_arg_t(memories.length);
            for (int i = 0; i < memories.length; i++) {
                args.position(i).arg(argKinds[i]).memory(memories[i]);
            }
            args.position(0);
        }

        /**
         * Makes the primitive of {@code descriptor} (destroyed here) with a memory object for each
         * argument kind and descriptor; {@code null} when there is no descriptor or oneDNN refuses
         * any of them.
         */
        static @Nullable Primitive create(String name, @Nullable dnnl_primitive_desc descriptor, int[] argKinds,
                dnnl_memory_desc_t[] descs) {
            if (descriptor == null) {
                return null;
            }
            dnnl_primitive primitive = new dnnl_primitive();
            int status = dnnl_primitive_create(primitive, descriptor);
            dnnl_primitive_desc_destroy(descriptor);
            if (status != dnnl_success) {
                return null;
            }
            dnnl_memory[] memories = new dnnl_memory[descs.length];
            for (int i = 0; i < descs.length; i++) {
                memories[i] = new dnnl_memory();
                if (dnnl_memory_create(memories[i], descs[i], engine(), null) != dnnl_success) {
                    for (int j = 0; j < i; j++) {
                        dnnl_memory_destroy(memories[j]);
                    }
                    dnnl_primitive_destroy(primitive);
                    return null;
                }
            }
            return new Primitive(name, primitive, memories, argKinds);
        }

        /** Runs the primitive on these arrays' buffers (one per argument, in order) and waits for it. */
        void execute(INDArray... operands) {
            if (operands.length != memories.length) {
                throw new IllegalArgumentException(name + ": " + operands.length + " operands for " + memories.length
                        + " arguments");
            }
            for (int i = 0; i < operands.length; i++) {
                check(dnnl_memory_set_data_handle(memories[i], operands[i].data().addressPointer()), "set argument " + i,
                        operands[i]);
            }
            dnnl_stream stream = CACHE.get().stream;
            check(dnnl_primitive_execute(primitive, stream, memories.length, args), "execute", operands[0]);
            check(dnnl_stream_wait(stream), "wait", operands[0]);
        }

        private void check(int status, String what, INDArray operand) {
            if (status != dnnl_success) {
                throw new IllegalStateException("oneDNN " + name + ": " + what + " failed with status " + status
                        + " for " + Arrays.toString(operand.shape()));
            }
        }

        void destroy() {
            if (primitive != null) {
                dnnl_primitive_destroy(primitive);
                for (dnnl_memory m : memories) {
                    dnnl_memory_destroy(m);
                }
            }
        }
    }

    /**
     * The number of threads whose stream and primitives are alive: a thread's are destroyed once
     * the thread has ended and its cache has been collected.
     */
    static int liveCaches() {
        return LIVE_CACHES.get();
    }

    /**
     * One thread's stream and primitives. When the thread ends its cache becomes unreachable and a
     * {@link Cleaner} destroys the native objects (a thread-per-request server would otherwise leak
     * every thread's primitives).
     */
    private static final class Cache {
        final dnnl_stream stream = new dnnl_stream();
        final Map<Key, Primitive> entries = new LeastRecentlyUsed();

        Cache() {
            int status = dnnl_stream_create(stream, engine(), dnnl_stream_default_flags);
            if (status != dnnl_success) {
                throw new IllegalStateException("oneDNN: no stream (status " + status + ")");
            }
            LIVE_CACHES.incrementAndGet();
            CLEANER.register(this, new Release(stream, entries));
        }
    }

    /** Primitives by key, the least recently used destroyed beyond {@value #KEPT}. */
    private static final class LeastRecentlyUsed extends LinkedHashMap<Key, Primitive> {
        private static final long serialVersionUID = 1L;

        LeastRecentlyUsed() {
            super(64, 0.75f, true);
        }

        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, Primitive> eldest) {
            if (size() > KEPT) {
                eldest.getValue().destroy();
                return true;
            }
            return false;
        }
    }

    /** Destroys a collected cache's primitives and stream (holds them, never the cache itself). */
    private record Release(dnnl_stream stream, Map<Key, Primitive> entries) implements Runnable {
        @Override
        public void run() {
            entries.values().forEach(Primitive::destroy);
            entries.clear();
            dnnl_stream_destroy(stream);
            LIVE_CACHES.decrementAndGet();
        }
    }
}
