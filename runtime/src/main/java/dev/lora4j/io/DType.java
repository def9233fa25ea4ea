package dev.lora4j.io;

import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The element types of the safetensors format that lora4j reads and writes, with their byte size
 * and the spelling used in a safetensors header. All multi-byte types are little-endian on disk.
 *
 * <p>Not supported: the 8-bit and smaller float formats ({@code F8_E4M3}, {@code F8_E5M2}, ...) and
 * complex types; a file holding one is rejected with a {@link SafetensorsException}.
 */
public enum DType {
    /** IEEE 754 binary64. */
    F64("F64", 8, true),
    /** IEEE 754 binary32. */
    F32("F32", 4, true),
    /** IEEE 754 binary16 ("half"); read as {@link DataType#FLOAT}. */
    F16("F16", 2, true),
    /** bfloat16 (the top 16 bits of a binary32); read as {@link DataType#FLOAT}. */
    BF16("BF16", 2, true),
    /** Signed 64-bit integer. */
    I64("I64", 8, false),
    /** Signed 32-bit integer. */
    I32("I32", 4, false),
    /** Signed 16-bit integer. */
    I16("I16", 2, false),
    /** Signed 8-bit integer. */
    I8("I8", 1, false),
    /** Unsigned 64-bit integer. */
    U64("U64", 8, false),
    /** Unsigned 32-bit integer. */
    U32("U32", 4, false),
    /** Unsigned 16-bit integer. */
    U16("U16", 2, false),
    /** Unsigned 8-bit integer. */
    U8("U8", 1, false),
    /** Boolean, one byte per element (0 or 1). */
    BOOL("BOOL", 1, false);

    private final String safetensorsName;
    private final int byteSize;
    private final boolean floatingPoint;

    // No ND4J type is held in a field: using DType (as the checkpoint merger does) must not load ND4J.
    DType(String safetensorsName, int byteSize, boolean floatingPoint) {
        this.safetensorsName = safetensorsName;
        this.byteSize = byteSize;
        this.floatingPoint = floatingPoint;
    }

    /** The name written in a safetensors header, e.g. {@code "BF16"}. */
    public String safetensorsName() {
        return safetensorsName;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Whether this is a floating-point type. */
    public boolean isFloatingPoint() {
        return floatingPoint;
    }

    /**
     * The ND4J type {@link SafetensorsFile#read(String)} returns for this dtype: F16 and BF16 widen to
     * FLOAT, every other type maps to its exact ND4J counterpart.
     */
    public DataType readType() {
        return switch (this) {
            case F64 -> DataType.DOUBLE;
            case F32, F16, BF16 -> DataType.FLOAT;
            case I64 -> DataType.INT64;
            case I32 -> DataType.INT32;
            case I16 -> DataType.INT16;
            case I8 -> DataType.INT8;
            case U64 -> DataType.UINT64;
            case U32 -> DataType.UINT32;
            case U16 -> DataType.UINT16;
            case U8 -> DataType.UINT8;
            case BOOL -> DataType.BOOL;
        };
    }

    /** The ND4J type holding exactly this dtype's values (FLOAT16 for F16, BFLOAT16 for BF16). */
    public DataType exactNd4jType() {
        switch (this) {
            case F16:
                return DataType.FLOAT16;
            case BF16:
                return DataType.BFLOAT16;
            default:
                return readType();
        }
    }

    /**
     * The dtype with the given safetensors spelling (case-sensitive, as the format is), or
     * {@code null} when lora4j does not know it.
     */
    public static @Nullable DType fromSafetensorsName(String name) {
        for (DType type : values()) {
            if (type.safetensorsName.equals(name)) {
                return type;
            }
        }
        return null;
    }

    /**
     * The dtype that stores an ND4J array of the given type without loss.
     *
     * @throws SafetensorsException for ND4J types safetensors cannot hold (UTF8, COMPRESSED, ...)
     */
    public static DType fromNd4j(DataType type) {
        for (DType dtype : values()) {
            if (dtype.exactNd4jType() == type) {
                return dtype;
            }
        }
        throw new SafetensorsException("ND4J type " + type + " has no safetensors dtype");
    }
}
