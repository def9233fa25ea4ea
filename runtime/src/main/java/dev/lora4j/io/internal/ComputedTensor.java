package dev.lora4j.io.internal;

import dev.lora4j.io.AdapterException;
import dev.lora4j.io.DType;
import dev.lora4j.io.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One output tensor of a checkpoint merge that is not a byte-for-byte copy, produced a chunk at a
 * time without ND4J: the source values (a base weight, or an adapter tensor that replaces one)
 * decoded to float (double when the output is F64), plus an optional {@link LowRankDelta}, checked
 * for values that must not be written ({@link FiniteScan}) and encoded in the output dtype. Each
 * chunk of {@value #CHUNK_ELEMENTS} values is worked through in blocks (a row of the update, or
 * {@value #BLOCK_ELEMENTS} values) that stay in the CPU cache from decoding to encoding, so the
 * values pass through memory once; the heap needed does not grow with the tensor.
 */
public final class ComputedTensor {

    /** Elements per chunk handed to the sink: 1 MB of floats. */
    public static final int CHUNK_ELEMENTS = 1 << 18;
    /** Elements per block worked on at once: 64 KB of floats. */
    public static final int BLOCK_ELEMENTS = 1 << 14;

    private final TensorInfo output;
    private final ByteBuffer source;
    private final DType sourceType;
    private final LowRankDelta delta;
    private final String what;

    /**
     * @param output the output tensor (name, dtype and shape)
     * @param source the stored bytes of the source values, as many elements as {@code output}
     * @param sourceType their dtype
     * @param delta the update to add, or {@code null}
     * @param what the computation, for the error message (e.g. {@code "merging adapter module 'x'
     *     into base tensor 'x.weight'"})
     */
    public ComputedTensor(TensorInfo output, ByteBuffer source, DType sourceType, LowRankDelta delta, String what) {
        this.output = output;
        this.source = source;
        this.sourceType = sourceType;
        this.delta = delta;
        this.what = what;
    }

    /** Whether the values are computed in double precision: for an F64 output. */
    public static boolean inDouble(DType output) {
        return output == DType.F64;
    }

    /**
     * Computes the tensor into {@code sink}, chunk after chunk.
     *
     * @param label names the adapter in the error message
     * @throws AdapterException when a value is NaN or infinite, or overflows an F16/BF16 output,
     *     after the last chunk (the caller must then discard what it wrote)
     */
    public void writeTo(ChunkSink sink, String label) throws IOException {
        long n = output.numElements();
        DType target = output.dtype();
        FiniteScan scan = new FiniteScan(output.shape(), target);
        boolean wide = inDouble(target);
        // with an update, work row segment by row segment, in arrays indexed by column
        int block = delta != null ? delta.columns() : (int) Math.min(n, BLOCK_ELEMENTS);
        float[] floats = wide ? null : new float[block];
        double[] doubles = wide ? new double[block] : null;
        for (long chunkStart = 0; chunkStart < n; chunkStart += CHUNK_ELEMENTS) {
            int k = (int) Math.min(CHUNK_ELEMENTS, n - chunkStart);
            ByteBuffer chunk = sink.take(k * target.byteSize());
            for (int b = 0; b < k; ) {
                long at = chunkStart + b;
                int from = 0;
                int m = Math.min(block, k - b);
                long row = 0;
                if (delta != null) {
                    row = at / block;
                    from = (int) (at % block);
                    m = Math.min(block - from, k - b);
                }
                if (wide) {
                    ElementCodec.decode(source, sourceType, (int) at, doubles, from, m);
                    if (delta != null) {
                        delta.addTo(doubles, row, from, m);
                    }
                    scan.scan(doubles, from, m, at);
                    ElementCodec.encode(doubles, from, m, target, chunk);
                } else {
                    ElementCodec.decode(source, sourceType, (int) at, floats, from, m);
                    if (delta != null) {
                        delta.addTo(floats, row, from, m);
                    }
                    scan.scan(floats, from, m, at);
                    ElementCodec.encode(floats, from, m, target, chunk);
                }
                b += m;
            }
            chunk.flip();
            sink.put(chunk);
        }
        String problem = scan.problem();
        if (problem != null) {
            throw new AdapterException(label + ": " + what + " gives " + problem + "; refusing to write non-finite"
                    + " weights, the output was not written");
        }
    }
}
