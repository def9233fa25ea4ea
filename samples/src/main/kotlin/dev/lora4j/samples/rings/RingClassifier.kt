package dev.lora4j.samples.rings

import dev.lora4j.api.LoRA
import dev.lora4j.autograd.Tensor
import dev.lora4j.nn.CrossEntropyLoss
import dev.lora4j.nn.Linear
import dev.lora4j.nn.Module
import org.nd4j.linalg.api.ndarray.INDArray

/**
 * A small MLP that tells points inside a ring from points outside, written in Kotlin as a user
 * writes a model: layers as properties, a forward function with tensor operations. LoRA goes on
 * the two hidden layers through `@field:LoRA` (the `field:` target puts the annotation on the
 * backing field, where lora4j looks); the head stays frozen.
 *
 * The annotations are read by `Lora.inject` (or `LoraDsl.lora(model)`) and, under the agent, by its
 * annotation fallback at construction: the lora4j processor sees Java sources only, so Kotlin
 * classes are not in its index.
 */
class RingClassifier @JvmOverloads constructor(hidden: Int = 32) : Module() {

    @field:LoRA(rank = 4, alpha = 8.0)
    val fc1 = Linear(2, hidden.toLong())

    @field:LoRA(rank = 4, alpha = 8.0)
    val fc2 = Linear(hidden.toLong(), hidden.toLong())

    val head = Linear(hidden.toLong(), 2)

    private val crossEntropy = CrossEntropyLoss()

    /** Class logits `[n, 2]` for points `[n, 2]`. */
    fun forward(points: INDArray): Tensor =
        head.forward(fc2.forward(fc1.forward(Tensor.constant(points)).tanh()).tanh())

    /** Mean cross-entropy of a batch. */
    fun loss(batch: RingBatch): Tensor = crossEntropy.compute(forward(batch.points), batch.labels)
}

/** Points `[n, 2]` and their labels (1 inside the ring, 0 outside). */
class RingBatch(val points: INDArray, val labels: IntArray) {
    /** The number of points. */
    val size: Int get() = labels.size
}
