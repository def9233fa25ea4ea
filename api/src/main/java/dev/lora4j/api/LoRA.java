package dev.lora4j.api;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a layer field of a model class for low-rank adaptation.
 *
 * <p>Every instance of the class gets a LoRA adapter on the annotated layer: the layer's output
 * becomes {@code base(x) + s·B(A(dropout(x)))} with {@code s = alpha / rank} (or
 * {@code alpha / sqrt(rank)} with {@link #rslora()}), and the base weights are frozen. The field may
 * hold a single layer, an array of layers, or a {@code List} of layers.
 *
 * <pre>{@code
 * class Block extends Module {
 *     @LoRA(rank = 8, alpha = 16) Linear query;
 *     Linear key;
 *     @LoRA(rank = 8, alpha = 16) Linear value;
 * }
 * }</pre>
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.FIELD)
public @interface LoRA {

    /** Sentinel for {@link #alpha()}: use the rank as alpha (scaling 1). */
    double ALPHA_SAME_AS_RANK = Double.NaN;

    /** The adapter's rank {@code r}; at least 1. */
    int rank() default 8;

    /** The scaling numerator; must be positive. Unset means alpha equals the rank. */
    double alpha() default ALPHA_SAME_AS_RANK;

    /** Dropout probability applied to the layer input on the adapter path; in {@code [0, 1)}. */
    double dropout() default 0.0;

    /** Rank-stabilised scaling {@code alpha / sqrt(r)} instead of {@code alpha / r}. */
    boolean rslora() default false;

    /**
     * DoRA, weight-decomposed LoRA (PEFT's {@code use_dora}): the adapter also trains a magnitude
     * per output feature and the layer computes with {@code m ⊙ (W + s·B·A) / ‖W + s·B·A‖}. For
     * Linear, Embedding and ungrouped Conv2d layers (a grouped convolution is refused when the
     * adapter is made).
     */
    boolean dora() default false;

    /** How the adapter matrices start. */
    LoraInit init() default LoraInit.KAIMING_UNIFORM;

    /** Sentinel for {@link #pissaNiter()}: PiSSA with the exact SVD. */
    int PISSA_EXACT = -1;

    /**
     * With {@code init = PISSA}: the number of subspace iterations of the randomized SVD (PEFT's
     * {@code init_lora_weights="pissa_niter_N"}), at least 0; {@link #PISSA_EXACT} (the default) for
     * the exact SVD ({@code "pissa"}). Any other value with another {@link #init()} is an error.
     */
    int pissaNiter() default PISSA_EXACT;

    /** The adapter's name; {@code "default"} unless several adapters share a layer. */
    String adapter() default "default";
}
