package dev.lora4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.internal.ExampleDropout;
import dev.lora4j.testing.Bitwise;
import dev.lora4j.testing.GradientCheck;
import dev.lora4j.testing.TestArrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class PackedTokensTest {

    /** Right padding, a full row, left padding and a hole: 3 + 5 + 2 + 3 real tokens of 4 × 5. */
    private static final INDArray MASK = Nd4j.createFromArray(new int[][] {
            {1, 1, 1, 0, 0}, {1, 1, 1, 1, 1}, {0, 0, 0, 1, 1}, {1, 0, 1, 1, 0}});
    private static final int[][] REAL = {{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}, {1, 2}, {1, 3}, {1, 4}, {2, 3},
            {2, 4}, {3, 0}, {3, 2}, {3, 3}};

    @Test
    void packingKeepsTheRealTokensInRowMajorOrderAndUnpackingPutsZerosAtThePadding() {
        PackedTokens tokens = PackedTokens.realTokens(MASK);
        assertTrue(tokens.isPacked());
        assertEquals(13, tokens.count());
        INDArray padded = TestArrays.normal(1, 4, 5, 3);
        INDArray packed = tokens.pack(Tensor.constant(padded)).value();
        assertArrayEquals(new long[] {13, 3}, packed.shape());
        for (int r = 0; r < REAL.length; r++) {
            assertEquals(padded.get(NDArrayIndex.point(REAL[r][0]), NDArrayIndex.point(REAL[r][1]), NDArrayIndex.all()),
                    packed.getRow(r), "row " + r);
        }
        INDArray back = tokens.unpack(Tensor.constant(packed)).value();
        INDArray keep = MASK.castTo(DataType.DOUBLE).reshape(4, 5, 1);
        assertTrue(Bitwise.equal(padded.mul(keep).addi(0.0), back), "real tokens back in place, zeros elsewhere");
        assertEquals(0.0, back.mul(keep.rsub(1.0)).maxNumber().doubleValue(), 0.0);

        INDArray ids = Nd4j.arange(20).castTo(DataType.INT32).reshape(4, 5);
        assertArrayEquals(new int[] {0, 1, 2, 5, 6, 7, 8, 9, 13, 14, 15, 17, 18}, tokens.perToken(ids).toIntVector());
        assertArrayEquals(new int[] {0, 1, 2, 0, 1, 2, 3, 4, 3, 4, 0, 2, 3}, tokens.positions().toIntVector());
    }

    @Test
    void packAndUnpackGradientsMatchFiniteDifferences() {
        PackedTokens tokens = PackedTokens.realTokens(MASK);
        Tensor padded = Tensor.variable(TestArrays.normal(2, 4, 5, 3));
        // the padding's entries get no gradient through pack: checked as zero
        GradientCheck.of(() -> tokens.pack(padded).mul(tokens.pack(padded))).input("padded", padded).verify();
        Tensor rows = Tensor.variable(TestArrays.normal(3, 13, 3));
        GradientCheck.of(() -> tokens.unpack(rows).tanh()).input("rows", rows).verify();
        padded.clearGrad();
        tokens.pack(padded).sum().backward();
        INDArray keep = MASK.castTo(DataType.DOUBLE).reshape(4, 5, 1).broadcast(4, 5, 3);
        assertTrue(Bitwise.equal(keep, padded.grad()), "gradient 1 at real tokens, exactly 0 at padding");
    }

    @Test
    void packedAttentionEqualsPaddedAttentionAtTheRealTokensValuesAndGradients() {
        for (DataType type : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
            // float64: the same arithmetic on the same numbers (1e-12); float32: float rounding (1e-5)
            double tolerance = type == DataType.DOUBLE ? 1e-12 : 1e-5;
            for (boolean causal : new boolean[] {false, true}) {
                PackedTokens tokens = PackedTokens.realTokens(MASK);
                INDArray qa = TestArrays.normal(4, 4, 5, 8).castTo(type);
                INDArray ka = TestArrays.normal(5, 4, 5, 8).castTo(type);
                INDArray va = TestArrays.normal(6, 4, 5, 8).castTo(type);
                INDArray upstream = TestArrays.normal(7, 4, 5, 8).castTo(type)
                        .muli(MASK.castTo(type).reshape(4, 5, 1));
                Tensor q1 = Tensor.variable(qa.dup());
                Tensor k1 = Tensor.variable(ka.dup());
                Tensor v1 = Tensor.variable(va.dup());
                Tensor padded = Functional.multiHeadAttention(q1, k1, v1, 2, causal, MASK);
                padded.backward(upstream);
                Tensor q2 = Tensor.variable(tokens.pack(Tensor.constant(qa)).value());
                Tensor k2 = Tensor.variable(tokens.pack(Tensor.constant(ka)).value());
                Tensor v2 = Tensor.variable(tokens.pack(Tensor.constant(va)).value());
                Tensor packed = tokens.multiHeadAttention(q2, k2, v2, 2, causal);
                packed.backward(tokens.pack(Tensor.constant(upstream)).value());
                String what = type + (causal ? " causal" : "");
                assertTrue(tokens.pack(padded).value().equalsWithEps(packed.value(), tolerance), what + " output");
                assertTrue(tokens.pack(Tensor.constant(q1.grad())).value().equalsWithEps(q2.grad(), tolerance), what + " dq");
                assertTrue(tokens.pack(Tensor.constant(k1.grad())).value().equalsWithEps(k2.grad(), tolerance), what + " dk");
                assertTrue(tokens.pack(Tensor.constant(v1.grad())).value().equalsWithEps(v2.grad(), tolerance), what + " dv");
            }
        }
    }

    @Test
    void packedAttentionGradientMatchesFiniteDifferences() {
        PackedTokens tokens = PackedTokens.realTokens(MASK);
        Tensor q = Tensor.variable(TestArrays.normal(8, 13, 6));
        Tensor k = Tensor.variable(TestArrays.normal(9, 13, 6));
        Tensor v = Tensor.variable(TestArrays.normal(10, 13, 6));
        GradientCheck.of(() -> tokens.multiHeadAttention(q, k, v, 3, false))
                .input("q", q).input("k", k).input("v", v).verify();
    }

    @Test
    void everyPositionKeepsThePaddedLayoutAndAttendsAsTheMaskedAttentionDoes() {
        PackedTokens tokens = PackedTokens.everyPosition(4, 5, MASK);
        assertFalse(tokens.isPacked());
        assertEquals(20, tokens.count());
        Tensor x = Tensor.constant(TestArrays.normal(11, 4, 5, 8).castTo(DataType.FLOAT));
        assertSame(x, tokens.pack(x));
        assertSame(x, tokens.unpack(x));
        INDArray ids = Nd4j.ones(DataType.INT32, 4, 5);
        assertSame(ids, tokens.perToken(ids));
        assertEquals(Nd4j.createFromArray(new int[][] {{0, 1, 2, 3, 4}, {0, 1, 2, 3, 4}, {0, 1, 2, 3, 4},
                {0, 1, 2, 3, 4}}), tokens.positions());
        assertTrue(Bitwise.equal(Functional.multiHeadAttention(x, x, x, 2, false, MASK).value(),
                tokens.multiHeadAttention(x, x, x, 2, false).value()));
    }

    @Test
    void insideADataParallelStepAPackedDropoutDrawsThePaddedLayoutsMasksForTheRealTokens() {
        INDArray ones = Nd4j.ones(DataType.FLOAT, 4, 5, 6);
        INDArray padded;
        INDArray packed;
        try (ExampleDropout ignored = ExampleDropout.open(3, 9, 0, 4)) {
            padded = Functional.dropout(Tensor.constant(ones), 0.5, new Random(1)).value();
        }
        try (ExampleDropout ignored = ExampleDropout.open(3, 9, 0, 4)) {
            PackedTokens tokens = PackedTokens.realTokens(MASK);
            packed = Functional.dropout(Tensor.constant(Nd4j.ones(DataType.FLOAT, 13, 6)), 0.5, new Random(1)).value();
        }
        assertTrue(Bitwise.equal(PackedTokens.realTokens(MASK).pack(Tensor.constant(padded)).value(), packed));
        // the last two examples as a shard of their own draw their rows of the whole batch's masks
        INDArray shard;
        try (ExampleDropout ignored = ExampleDropout.open(3, 9, 2, 2)) {
            PackedTokens.realTokens(MASK.get(NDArrayIndex.interval(2, 4)).dup());
            shard = Functional.dropout(Tensor.constant(Nd4j.ones(DataType.FLOAT, 5, 6)), 0.5, new Random(1)).value();
        }
        assertTrue(Bitwise.equal(packed.get(NDArrayIndex.interval(8, 13)).dup(), shard));
    }

    @Test
    void badMasksAndShapesAreRefusedNamingWhatIsWrong() {
        IllegalArgumentException value = assertThrows(IllegalArgumentException.class,
                () -> PackedTokens.realTokens(Nd4j.createFromArray(new int[][] {{1, 1}, {1, 2}})));
        assertEquals("attention mask holds 2.0 at [1, 1]; it must hold 1 for real tokens and 0 for padding",
                value.getMessage());
        IllegalArgumentException rank = assertThrows(IllegalArgumentException.class,
                () -> PackedTokens.realTokens(Nd4j.ones(DataType.INT32, 4)));
        assertEquals("an attention mask is [batch, time], got [4]", rank.getMessage());
        PackedTokens tokens = PackedTokens.realTokens(MASK);
        IllegalArgumentException unpack = assertThrows(IllegalArgumentException.class,
                () -> tokens.unpack(Tensor.constant(Nd4j.ones(DataType.FLOAT, 12, 3))));
        assertEquals("unpack takes [13, features], got [12, 3]", unpack.getMessage());
        IllegalArgumentException pack = assertThrows(IllegalArgumentException.class,
                () -> tokens.pack(Tensor.constant(Nd4j.ones(DataType.FLOAT, 4, 6, 3))));
        assertEquals("pack takes [4, 5, features], got [4, 6, 3]", pack.getMessage());
        IllegalArgumentException ids = assertThrows(IllegalArgumentException.class,
                () -> tokens.perToken(Nd4j.ones(DataType.INT32, 5, 4)));
        assertEquals("expected a [4, 5] array, got [5, 4]", ids.getMessage());
        IllegalStateException shard = assertThrows(IllegalStateException.class, () -> {
            try (ExampleDropout ignored = ExampleDropout.open(3, 9, 0, 2)) {
                PackedTokens.realTokens(MASK);
            }
        });
        assertEquals("packed tokens of 4 examples in a shard of 2 examples: per-example masks need the whole shard"
                + " packed together", shard.getMessage());
    }
}
