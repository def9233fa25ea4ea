package dev.lora4j.nn;

import dev.lora4j.autograd.Tensor;
import java.util.Random;
import java.util.function.BiConsumer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What the adapters attached to an {@link AdaptableLayer} give the layer: this package says what
 * a layer needs from them, {@code dev.lora4j.lora} implements it (LoRA is one kind of adapter;
 * the layers do not know it). A layer reports its adapters' parameters and generators as its
 * own, and hands its forward pass to them.
 */
public interface LayerAdapters {

    /** Visits the adapters' parameters under their names relative to the layer (e.g. {@code lora_A.default.weight}). */
    void visitParameters(BiConsumer<String, Parameter> visitor);

    /** Visits the adapters' random generators (e.g. {@code lora_dropout.default}). */
    void visitGenerators(BiConsumer<String, Random> visitor);

    /** Adapters of a layer that maps one tensor to another ({@link Linear}, {@link Conv2d}). */
    interface OnInput extends LayerAdapters {

        /** The layer's output for {@code x}: the base computation plus the active adapters' updates. */
        Tensor forward(Tensor x, boolean training);
    }

    /** Adapters of a lookup table ({@link Embedding}). */
    interface OnIds extends LayerAdapters {

        /** {@code y}, the base lookup of {@code ids}, plus the active adapters' updates. */
        Tensor addUpdates(INDArray ids, Tensor y);
    }
}
