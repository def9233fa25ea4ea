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
}
