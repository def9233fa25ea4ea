package dev.lora4j.io.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** F16/BF16 conversion against hand-computed bit patterns, and exhaustively against itself. */
class HalfFloatsTest {

    private static void assertF16(int expected, float value) {
        assertEquals(String.format("0x%04X", expected),
                String.format("0x%04X", HalfFloats.floatToF16(value) & 0xFFFF), "F16 of " + value);
    }

    private static void assertBf16(int expected, float value) {
        assertEquals(String.format("0x%04X", expected),
                String.format("0x%04X", HalfFloats.floatToBf16(value) & 0xFFFF), "BF16 of " + value);
    }

    @Test
    void f16OfOrdinaryValues() {
        assertF16(0x3C00, 1.0f);
        assertF16(0xC100, -2.5f);      // 2.5 = 1.01b × 2^1: exponent 16, mantissa 0x100
        assertF16(0x2E66, 0.1f);       // mantissa 0x4CCCCD >> 13 = 0x266, remainder below half
        assertF16(0x0000, 0.0f);
        assertF16(0x8000, -0.0f);
    }

    @Test
    void f16AtTheTopOfTheRange() {
        assertF16(0x7BFF, 65504f);     // largest finite half
        assertF16(0x7BFF, 65519f);     // below the halfway point 65520
        assertF16(0x7C00, 65520f);     // exactly halfway: ties to even, and 0x7BFF is odd -> infinity
        assertF16(0xFC00, -1e6f);
        assertF16(0x7C00, Float.POSITIVE_INFINITY);
    }

    @Test
    void f16Subnormals() {
        assertF16(0x0400, 0x1p-14f);               // smallest normal
        assertF16(0x03FF, 1023 * 0x1p-24f);        // largest subnormal
        assertF16(0x0001, 0x1p-24f);               // smallest subnormal
        assertF16(0x0000, 0x1p-25f);               // halfway between 0 and 2^-24: even is 0
        assertF16(0x0001, 0x1.000002p-25f);        // just above halfway
        assertF16(0x0003, 0x1.8p-23f);             // 3 × 2^-24 is exact
    }

    @Test
    void f16RoundingTies() {
        assertF16(0x0002, 3 * 0x1p-25f);   // 1.5 ulp of subnormals: tie between 1 and 2 -> 2 (even)
        assertF16(0x0002, 5 * 0x1p-25f);   // 2.5 ulp: tie between 2 and 3 -> 2 (even)
        assertF16(0x3C00, 1f + 0x1p-11f);  // halfway between 1 and 1 + 2^-10 -> 1 (even)
        assertF16(0x3C02, 1f + 3 * 0x1p-11f); // halfway between 0x3C01 and 0x3C02 -> 0x3C02 (even)
        assertF16(0x3C01, 1f + 0x1p-11f + 0x1p-20f); // just above the tie rounds up
        assertF16(0x4000, 2f - 0x1p-12f);  // rounds up across the exponent boundary
    }

    @Test
    void f16NaNStaysNaN() {
        int h = HalfFloats.floatToF16(Float.NaN) & 0xFFFF;
        assertEquals(0x7C00, h & 0x7C00);
        assertTrue((h & 0x03FF) != 0);
        assertTrue(Float.isNaN(HalfFloats.f16ToFloat((short) h)));
    }

    @Test
    void f16Widening() {
        assertEquals(1.0f, HalfFloats.f16ToFloat((short) 0x3C00));
        assertEquals(-2.5f, HalfFloats.f16ToFloat((short) 0xC100));
        assertEquals(65504f, HalfFloats.f16ToFloat((short) 0x7BFF));
        assertEquals(0x1p-24f, HalfFloats.f16ToFloat((short) 0x0001));
        assertEquals(1023 * 0x1p-24f, HalfFloats.f16ToFloat((short) 0x03FF));
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(HalfFloats.f16ToFloat((short) 0x8000)));
        assertEquals(Float.NEGATIVE_INFINITY, HalfFloats.f16ToFloat((short) 0xFC00));
    }

    @Test
    void bf16OfValues() {
        assertBf16(0x3F80, 1.0f);
        assertBf16(0xC020, -2.5f);       // -2.5f = 0xC0200000
        assertBf16(0x4780, 65504f);      // 0x477FE000: low half 0xE000 > 0x8000 rounds up to 65536
        assertBf16(0x3DCD, 0.1f);        // 0x3DCCCCCD rounds up
        assertBf16(0x3F80, 1f + 0x1p-8f);     // 0x3F808000: tie, 0x3F80 is even
        assertBf16(0x3F82, 1f + 3 * 0x1p-8f); // 0x3F818000: tie, 0x3F81 is odd -> 0x3F82
        assertBf16(0x7F80, Float.MAX_VALUE);  // 0x7F7FFFFF rounds past the largest bf16 to infinity
        assertBf16(0x0000, Float.MIN_VALUE);  // float subnormal 0x00000001 rounds to zero
        assertBf16(0x0001, Float.intBitsToFloat(0x00010000)); // a bf16 subnormal is exact
        assertBf16(0x0002, Float.intBitsToFloat(0x00018000)); // subnormal tie -> even
        assertBf16(0x8000, -0.0f);
        assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.NaN))));
        assertEquals(-2.5f, HalfFloats.bf16ToFloat((short) 0xC020));
    }

    @Test
    void everyF16AndBf16PatternSurvivesARoundTrip() {
        for (int bits = 0; bits <= 0xFFFF; bits++) {
            short h = (short) bits;
            float f = HalfFloats.f16ToFloat(h);
            if (!Float.isNaN(f)) {
                assertEquals(bits, HalfFloats.floatToF16(f) & 0xFFFF, "F16 pattern " + Integer.toHexString(bits));
            }
            float b = HalfFloats.bf16ToFloat(h);
            if (!Float.isNaN(b)) {
                assertEquals(bits, HalfFloats.floatToBf16(b) & 0xFFFF, "BF16 pattern " + Integer.toHexString(bits));
            }
        }
    }

    @Test
    void f16RoundsToTheNearerNeighbour() {
        // between every pair of adjacent positive finite halves, check the midpoint's neighbours
        for (int bits = 0; bits < 0x7BFF; bits++) {
            float lo = HalfFloats.f16ToFloat((short) bits);
            float hi = HalfFloats.f16ToFloat((short) (bits + 1));
            float mid = (lo + hi) / 2; // exact in float: halves have 11 significant bits
            int even = (bits & 1) == 0 ? bits : bits + 1;
            assertEquals(even, HalfFloats.floatToF16(mid) & 0xFFFF, "tie above " + Integer.toHexString(bits));
            assertEquals(bits, HalfFloats.floatToF16(Math.nextDown(mid)) & 0xFFFF);
            assertEquals(bits + 1, HalfFloats.floatToF16(Math.nextUp(mid)) & 0xFFFF);
        }
    }
}
