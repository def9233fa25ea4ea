package dev.lora4j.it.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** {@link EncoderFlops} on a tiny encoder, every GEMM counted by hand. */
class EncoderFlopsTest {

    @Test
    void aTinyEncoderCountedByHand() {
        // 2 layers, H = 4, F = 8, r = 1 on 2 projections, 2 classes; batch 1 of length 2: T = 2 positions
        // one projection 2·T·H·H = 64, one feed-forward matrix 2·T·H·F = 128, q·kᵀ (or p·v) 2·1·2·2·4 = 32,
        // one adapter GEMM 2·T·H·r = 16, the head 2·1·4·2 = 16
        EncoderFlops.Count c = new EncoderFlops(2, 4, 8, 1, 2, 2).count(1, 2);
        // per layer: 4 projections 256 + feed-forward 256 + scores and context 64 + 2 adapters × 2 GEMMs 64 = 640
        assertEquals(2 * 640 + 16, c.forward(), 0);
        // upper layer: 256 + 256 + 4 × 32 (dq, dk, dp, dv) + 2 adapters × 2 (g·B, (g·B)·A) × 16 = 704;
        // lowest layer: output projection 64 + feed-forward 256 + dp, dv, dq 96 + g·B of 2 adapters 32 = 448;
        // the head's input 16
        assertEquals(704 + 448 + 16, c.inputGradients(), 0);
        // dA and dB of 4 adapters, 16 each, and the head's weight 16
        assertEquals(8 * 16 + 16, c.weightGradients(), 0);
        assertEquals(1296 + 1168 + 144, c.total(), 0);
        // 6 · (2 layers × (4·16 + 2·32) + 4·2) · 2 positions
        assertEquals(6.0 * (256 + 8) * 2, new EncoderFlops(2, 4, 8, 1, 2, 2).conventional(1, 2), 0);
    }

    @Test
    void packedTokensCountTheirTokenWiseGemmsForTheRealTokensAndAttentionOverThePaddedLength() {
        EncoderFlops tiny = new EncoderFlops(2, 4, 8, 1, 2, 2);
        // batch 2 of length 3, 4 real tokens: attention as for 6 positions (2·2·3·3·4 = 144 a product),
        // everything else as for 4
        EncoderFlops.Count packed = tiny.count(2, 3, 4);
        EncoderFlops.Count padded = tiny.count(2, 3);
        // per layer, token-wise: 4 projections 2·T·H·H·4 + feed-forward 2·T·H·F·2 + 2 adapters × 2 × 2·T·H·r
        double tokenWisePerPosition = 4 * 32 + 2 * 64 + 2 * 2 * 8;
        assertEquals(padded.forward() - 2 * tokenWisePerPosition * (6 - 4), packed.forward(), 0);
        assertEquals(2 * (2 * 2.0 * 2 * 3 * 3 * 4 + tokenWisePerPosition * 4) + 2 * 2 * 4 * 2, packed.forward(), 0);
        assertEquals(padded.weightGradients() - 2 * 2 * 2 * 8 * (6 - 4), packed.weightGradients(), 0);
        assertEquals(tiny.count(2, 3).total(), tiny.count(2, 3, 6).total(), 0);
    }
}
