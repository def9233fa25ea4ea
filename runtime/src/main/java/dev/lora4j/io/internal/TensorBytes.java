package dev.lora4j.io.internal;

import dev.lora4j.io.DType;
import dev.lora4j.io.SafetensorsException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Moves tensor data between little-endian safetensors bytes and ND4J arrays, converting F16/BF16
 * to and from float on the way. Arrays are created outside any ND4J workspace. Data goes straight
 * between native buffers; only conversions use a small heap-free staging buffer.
 */
public final class TensorBytes {

    private static final int CHUNK_BYTES = 1 << 20;

    private TensorBytes() {}

    /**
     * A new C-order array of {@code dtype.readType()} holding the values in {@code bytes}.
     *
     * @param bytes exactly {@code product(shape) × dtype.byteSize()} little-endian bytes from its
     *     position (not moved)
     */
    @SuppressWarnings("try")
    public static INDArray toArray(ByteBuffer bytes, DType dtype, long[] shape) {
        ByteBuffer src = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long count = elements(shape);
        DataType type = dtype.readType();
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            if (count == 0) {
                return Nd4j.create(type, shape, 'c');
            }
            INDArray out = Nd4j.createUninitialized(type, shape, 'c');
            long outBytes = count * type.width();
            boolean half = dtype == DType.F16 || dtype == DType.BF16;
            if (outBytes > Integer.MAX_VALUE) {
                if (!half) {
                    throw new SafetensorsException("tensor of " + outBytes + " bytes exceeds the 2 GiB limit per tensor");
                }
                for (long i = 0; i < count; i++) {
                    out.data().put(i, widen(dtype, src.getShort(src.position() + (int) (2 * i))));
                }
                return out;
            }
            ByteBuffer dst = out.data().asNio().duplicate().order(ByteOrder.LITTLE_ENDIAN);
            dst.clear();
            if (half) {
                int base = src.position();
                for (int i = 0; i < count; i++) {
                    dst.putFloat(4 * i, widen(dtype, src.getShort(base + 2 * i)));
                }
            } else {
                dst.put(src);
            }
            return out;
        }
    }

    /**
     * Writes the values of {@code array} to {@code out} as {@code target} little-endian bytes, in C
     * order. Floating targets accept any numeric array (F16/BF16 round to nearest even from float);
     * integer and BOOL targets accept only integer or BOOL arrays.
     *
     * @return the number of bytes written ({@code array.length() × target.byteSize()})
     * @throws SafetensorsException when a floating array would be written as an integer dtype
     */
    public static long write(INDArray array, DType target, WritableByteChannel out) throws IOException {
        if (array.length() == 0) {
            return 0;
        }
        DataType have = array.dataType();
        DataType exact = target.exactNd4jType();
        if (have == exact) {
            return writeRaw(contiguous(array), out);
        }
        if (!target.isFloatingPoint()) {
            if (have.isFPType()) {
                throw new SafetensorsException("refusing to write a " + have + " array as "
                        + target.safetensorsName() + " (fractions would be dropped); cast it first");
            }
            return writeRaw(contiguous(array.castTo(exact)), out);
        }
        if (target == DType.F16 || target == DType.BF16) {
            INDArray floats = have == DataType.FLOAT ? array : array.castTo(DataType.FLOAT);
            return writeNarrowed(contiguous(floats), target, out);
        }
        return writeRaw(contiguous(array.castTo(exact)), out);
    }

    /** Writes every remaining byte of {@code src} (position of the caller's buffer unchanged). */
    public static long writeFully(ByteBuffer src, WritableByteChannel out) throws IOException {
        ByteBuffer b = src.duplicate();
        long n = b.remaining();
        while (b.hasRemaining()) {
            out.write(b);
        }
        return n;
    }

    /** The number of elements of {@code shape} (1 for rank 0). */
    public static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    private static float widen(DType dtype, short bits) {
        return dtype == DType.F16 ? HalfFloats.f16ToFloat(bits) : HalfFloats.bf16ToFloat(bits);
    }

    @SuppressWarnings("try")
    private static INDArray contiguous(INDArray a) {
        boolean plain = !a.isView()
                && a.ordering() == 'c'
                && a.offset() == 0
                && a.data().offset() == 0
                && a.data().length() == a.length()
                && Shape.hasDefaultStridesForShape(a);
        if (plain) {
            return a;
        }
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return a.dup('c');
        }
    }

    private static long writeRaw(INDArray a, WritableByteChannel out) throws IOException {
        long bytes = a.length() * a.dataType().width();
        if (bytes > Integer.MAX_VALUE) {
            throw new SafetensorsException("array of shape " + Arrays.toString(a.shape()) + " is " + bytes
                    + " bytes; tensors must stay under 2 GiB");
        }
        ByteBuffer b = a.data().asNio().duplicate();
        b.clear().limit((int) bytes);
        return writeFully(b, out);
    }

    private static long writeNarrowed(INDArray floats, DType target, WritableByteChannel out) throws IOException {
        long count = floats.length();
        boolean bf16 = target == DType.BF16;
        ByteBuffer stage = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer src = count * 4 <= Integer.MAX_VALUE
                ? floats.data().asNio().duplicate().order(ByteOrder.LITTLE_ENDIAN)
                : null;
        long written = 0;
        for (long i = 0; i < count; i++) {
            float v = src != null ? src.getFloat((int) (4 * i)) : floats.data().getFloat(i);
            stage.putShort(bf16 ? HalfFloats.floatToBf16(v) : HalfFloats.floatToF16(v));
            if (!stage.hasRemaining()) {
                stage.flip();
                written += writeFully(stage, out);
                stage.clear();
            }
        }
        stage.flip();
        written += writeFully(stage, out);
        return written;
    }
}
