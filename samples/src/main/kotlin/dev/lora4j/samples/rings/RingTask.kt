package dev.lora4j.samples.rings

import java.util.Random
import kotlin.math.hypot
import org.nd4j.linalg.factory.Nd4j

/**
 * Which points count as inside: a disc of [radius] around ([centerX], [centerY]), for points drawn
 * uniformly from the square [-1, 1]². [CENTERED] is the pretraining task; [SHIFTED], a nearby disc,
 * is what the adapters learn.
 */
enum class RingTask(private val centerX: Double, private val centerY: Double, private val radius: Double) {
    CENTERED(0.0, 0.0, 0.6),
    SHIFTED(0.35, 0.15, 0.5);

    /** 1 inside the disc, 0 outside. */
    fun label(x: Double, y: Double): Int = if (hypot(x - centerX, y - centerY) < radius) 1 else 0

    /** [count] random points in batches of [batchSize], the same for the same [seed]. */
    fun batches(count: Int, batchSize: Int, seed: Long): List<RingBatch> {
        val random = Random(seed)
        return (0 until count step batchSize).map { start ->
            val n = minOf(batchSize, count - start)
            val points = Array(n) { floatArrayOf(2 * random.nextFloat() - 1, 2 * random.nextFloat() - 1) }
            RingBatch(Nd4j.createFromArray(points), IntArray(n) { label(points[it][0].toDouble(), points[it][1].toDouble()) })
        }
    }
}
