package dev.lora4j.lora;

import dev.lora4j.api.LoRA;
import dev.lora4j.api.LoraInit;

/**
 * The settings of one adapter on one layer.
 *
 * @param rank {@code r}, at least 1
 * @param alpha the scaling numerator, positive
 * @param dropout the dropout probability on the adapter's input, in [0, 1)
 * @param rslora whether the scaling is {@code alpha/√r} instead of {@code alpha/r}
 * @param init how A and B start
 * @param dora whether the adapter is a DoRA adapter (PEFT's {@code use_dora}): besides A and B it
 *     has a trainable magnitude vector {@code m [out]} and computes with the weight {@code m ⊙ (W +
 *     s·B·A) / ‖W + s·B·A‖}, the norm taken per output feature (see {@link LoraLinear})
 * @param pissaNiter with {@link LoraInit#PISSA}: the subspace iterations of the randomized SVD
 *     (PEFT's {@code pissa_niter_N}), at least 0, or {@link LoRA#PISSA_EXACT} ({@code -1}) for the
 *     exact SVD; {@code -1} with every other init
 */
public record AdapterSettings(int rank, double alpha, double dropout, boolean rslora, LoraInit init, boolean dora,
        int pissaNiter) {

    /** A plain LoRA spec (no DoRA). */
    public AdapterSettings(int rank, double alpha, double dropout, boolean rslora, LoraInit init) {
        this(rank, alpha, dropout, rslora, init, false);
    }

    /** A spec whose PiSSA, if any, uses the exact SVD. */
    public AdapterSettings(int rank, double alpha, double dropout, boolean rslora, LoraInit init, boolean dora) {
        this(rank, alpha, dropout, rslora, init, dora, LoRA.PISSA_EXACT);
    }

    /** Validates every field; the message names the field and the value. */
    public AdapterSettings {
        if (rank < 1) {
            throw new IllegalArgumentException("LoRA rank must be at least 1, got " + rank);
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("LoRA alpha must be positive and finite, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("LoRA dropout must be in [0, 1), got " + dropout);
        }
        if (init == null) {
            throw new IllegalArgumentException("LoRA init must be set");
        }
        checkPissaNiter(init, pissaNiter);
    }

    /**
     * Checks that {@code pissaNiter} is {@code -1} or at least 0, and at least 0 only with PiSSA.
     *
     * @throws IllegalArgumentException naming the value
     */
    static void checkPissaNiter(LoraInit init, int pissaNiter) {
        if (pissaNiter < LoRA.PISSA_EXACT) {
            throw new IllegalArgumentException("LoRA pissaNiter must be -1 (PiSSA with the exact SVD) or a number of"
                    + " subspace iterations of at least 0, got " + pissaNiter);
        }
        if (pissaNiter >= 0 && init != LoraInit.PISSA) {
            throw new IllegalArgumentException("LoRA pissaNiter = " + pissaNiter + " needs init PISSA, got " + init);
        }
    }

    /** PEFT's {@code init_lora_weights} value: true, false, "gaussian", "pissa", "pissa_niter_N" or "olora". */
    public Object peftInit() {
        return switch (init) {
            case KAIMING_UNIFORM -> Boolean.TRUE;
            case RANDOM -> Boolean.FALSE;
            case GAUSSIAN -> "gaussian";
            case OLORA -> "olora";
            case PISSA -> pissaNiter == LoRA.PISSA_EXACT ? "pissa" : "pissa_niter_" + pissaNiter;
        };
    }

    /** The multiplier of {@code B·A}: {@code alpha/r}, or {@code alpha/√r} with rsLoRA. */
    public double scaling() {
        return rslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /** This spec with DoRA off. */
    public AdapterSettings withoutDora() {
        return new AdapterSettings(rank, alpha, dropout, rslora, init, false, pissaNiter);
    }

    /** The spec an annotation describes (alpha defaults to the rank). */
    public static AdapterSettings of(LoRA annotation) {
        double alpha = Double.isNaN(annotation.alpha()) ? annotation.rank() : annotation.alpha();
        return new AdapterSettings(annotation.rank(), alpha, annotation.dropout(), annotation.rslora(), annotation.init(),
                annotation.dora(), annotation.pissaNiter());
    }
}
