package dev.lora4j.io.internal;

import dev.lora4j.io.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Converts runs of floating-point tensor elements between their little-endian safetensors bytes
 * and Java {@code float[]} / {@code double[]} arrays, without ND4J. Widening (F16, BF16 → float;
 * anything → double) is exact; narrowing rounds to nearest, ties to even ({@code double → float}
 * as Java's cast, {@code float → F16/BF16} with {@link HalfFloats}); a {@code double} bound for a
 * half type is narrowed to float first, as ND4J's cast-then-convert does. F32 and F64 runs are bulk
 * copies.
 */
public final class ElementCodec {

    private ElementCodec() {}

    /**
     * Reads {@code count} elements of {@code dtype} from {@code src}, starting at element {@code
     * first} (relative to position 0 of {@code src}), into {@code dst[off ..]} as floats. F64
     * values are rounded to float.
     */
    public static void decode(ByteBuffer src, DType dtype, int first, float[] dst, int off, int count) {
        ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int at = first * dtype.byteSize();
        switch (dtype) {
            case F32 -> in.position(at).asFloatBuffer().get(dst, off, count);
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst[off + i] = HalfFloats.f16ToFloat(in.getShort(at + 2 * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst[off + i] = HalfFloats.bf16ToFloat(in.getShort(at + 2 * i));
                }
            }
            case F64 -> {
                for (int i = 0; i < count; i++) {
                    dst[off + i] = (float) in.getDouble(at + 8 * i);
                }
            }
            default -> throw notFloat(dtype);
        }
    }

    /** As {@link #decode(ByteBuffer, DType, int, float[], int, int)}, into doubles (exact). */
    public static void decode(ByteBuffer src, DType dtype, int first, double[] dst, int off, int count) {
        ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int at = first * dtype.byteSize();
        if (dtype == DType.F64) {
            in.position(at).asDoubleBuffer().get(dst, off, count);
            return;
        }
        if (dtype == DType.F32) {
            for (int i = 0; i < count; i++) {
                dst[off + i] = in.getFloat(at + 4 * i);
            }
            return;
        }
        float[] widened = new float[count];
        decode(src, dtype, first, widened, 0, count);
        for (int i = 0; i < count; i++) {
            dst[off + i] = widened[i];
        }
    }

    /**
     * Appends {@code src[off .. off+count)} to {@code dst} (from its position, which advances) as
     * {@code dtype}: F32 as is, F16/BF16 rounded to nearest even, F64 widened exactly.
     */
    public static void encode(float[] src, int off, int count, DType dtype, ByteBuffer dst) {
        ByteBuffer out = dst.order(ByteOrder.LITTLE_ENDIAN);
        int at = out.position();
        switch (dtype) {
            case F32 -> out.asFloatBuffer().put(src, off, count);
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    out.putShort(at + 2 * i, HalfFloats.floatToF16(src[off + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    out.putShort(at + 2 * i, HalfFloats.floatToBf16(src[off + i]));
                }
            }
            case F64 -> {
                for (int i = 0; i < count; i++) {
                    out.putDouble(at + 8 * i, src[off + i]);
                }
            }
            default -> throw notFloat(dtype);
        }
        out.position(at + count * dtype.byteSize());
    }

    /**
     * Appends {@code src[off .. off+count)} to {@code dst} as {@code dtype}: F64 as is, other types
     * through float (as {@link #encode(float[], int, int, DType, ByteBuffer)}).
     */
    public static void encode(double[] src, int off, int count, DType dtype, ByteBuffer dst) {
        ByteBuffer out = dst.order(ByteOrder.LITTLE_ENDIAN);
        if (dtype == DType.F64) {
            int at = out.position();
            out.asDoubleBuffer().put(src, off, count);
            out.position(at + 8 * count);
            return;
        }
        float[] narrowed = new float[count];
        for (int i = 0; i < count; i++) {
            narrowed[i] = (float) src[off + i];
        }
        encode(narrowed, 0, count, dtype, out);
    }

    private static IllegalArgumentException notFloat(DType dtype) {
        return new IllegalArgumentException("not a floating-point dtype: " + dtype.safetensorsName());
    }
}
