package dev.lora4j.io.internal;

/**
 * Conversions between binary32 floats and the two 16-bit float formats safetensors stores: IEEE
 * binary16 (F16) and bfloat16 (BF16). Narrowing rounds to nearest, ties to even; overflow gives
 * infinity; NaN stays NaN (quiet, sign kept). Widening is exact.
 */
public final class HalfFloats {

    private HalfFloats() {}

    /** The bfloat16 bit pattern nearest to {@code value} (ties to even). */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) { // NaN: keep sign and top payload, force quiet
            return (short) ((bits >>> 16) | 0x0040);
        }
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7FFF + lsb) >>> 16);
    }

    /** The float with the given bfloat16 bit pattern (exact). */
    public static float bf16ToFloat(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xFFFF) << 16);
    }

    /** The IEEE binary16 bit pattern nearest to {@code value} (ties to even). */
    public static short floatToF16(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7FFFFFFF;
        if (abs >= 0x7F800000) {
            if (abs == 0x7F800000) {
                return (short) (sign | 0x7C00); // infinity
            }
            return (short) (sign | 0x7E00 | ((abs >>> 13) & 0x03FF)); // quiet NaN
        }
        if (abs >= 0x477FF000) { // >= 65520: halfway past 65504 and beyond round to infinity
            return (short) (sign | 0x7C00);
        }
        if (abs >= 0x38800000) { // >= 2^-14: a normal half
            int exponent = (abs >>> 23) - 127 + 15;
            int mantissa = abs & 0x007FFFFF;
            int half = (exponent << 10) | (mantissa >>> 13);
            int rest = mantissa & 0x1FFF;
            if (rest > 0x1000 || (rest == 0x1000 && (half & 1) != 0)) {
                half++; // a carry out of the mantissa correctly bumps the exponent
            }
            return (short) (sign | half);
        }
        if (abs <= 0x33000000) { // <= 2^-25: rounds to zero (2^-25 itself is a tie, even is 0)
            return (short) sign;
        }
        // a subnormal half: value = m × 2^-24
        int exponent = abs >>> 23;
        int mantissa = (abs & 0x007FFFFF) | 0x00800000;
        int shift = 126 - exponent; // 14..24
        int half = mantissa >>> shift;
        int rest = mantissa & ((1 << shift) - 1);
        int halfway = 1 << (shift - 1);
        if (rest > halfway || (rest == halfway && (half & 1) != 0)) {
            half++; // may become 0x0400, the smallest normal, which is correct
        }
        return (short) (sign | half);
    }

    /** The float with the given IEEE binary16 bit pattern (exact). */
    public static float f16ToFloat(short f16) {
        int h = f16 & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1F;
        int mantissa = h & 0x03FF;
        if (exponent == 0) {
            float magnitude = mantissa * 0x1p-24f; // exact: mantissa < 2^10
            return sign != 0 ? -magnitude : magnitude;
        }
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        }
        return Float.intBitsToFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
    }
}
