@file:JvmName("RingsFineTune")

package dev.lora4j.samples.rings

import dev.lora4j.autograd.GradMode
import dev.lora4j.dsl.LoraDsl.lora
import dev.lora4j.dsl.LoraDsl.train
import dev.lora4j.lora.LoraModel
import dev.lora4j.nn.Init
import dev.lora4j.train.Predictor
import dev.lora4j.train.TrainingResult
import org.nd4j.linalg.factory.Nd4j

/**
 * The Kotlin sample: pretrain [RingClassifier] on one disc, adapt it with LoRA to a shifted disc,
 * merge. Everything is configured with lora4j's DSL ([dev.lora4j.dsl.LoraDsl]); the blocks are
 * lambdas with receiver thanks to the `sam-with-receiver` compiler plugin (see samples/pom.xml).
 *
 * ```
 * mvn -B -ntp -q install -DskipTests && mvn -B -ntp -q -pl samples exec:java -Dexec.mainClass=dev.lora4j.samples.rings.RingsFineTune
 * ```
 *
 * Run it without the agent: with `-javaagent`, the adapters are attached when the model is built,
 * so the "pretraining" step would train them instead of the base.
 */
fun main() {
    Init.seed(7)
    val model = RingClassifier()
    pretrain(model, RingTask.CENTERED.batches(2048, 64, seed = 1), epochs = 15)
    println("base model on the disc it was trained on: accuracy %.3f".format(accuracy(model, RingTask.CENTERED.batches(1024, 256, seed = 4))))

    val training = RingTask.SHIFTED.batches(1024, 64, seed = 2)
    val heldOut = RingTask.SHIFTED.batches(1024, 256, seed = 3)
    println("base model on the shifted disc: accuracy %.3f, loss %.4f".format(accuracy(model, heldOut), meanLoss(model, heldOut)))

    val lora = lora(model) // adapters on the @field:LoRA layers, everything else frozen
    println(lora.summary().line())
    val result = fineTune(lora, training, heldOut, epochs = 25)
    println("after %d LoRA steps: accuracy %.3f, loss %.4f".format(result.steps(), accuracy(model, heldOut), meanLoss(model, heldOut)))

    val points = heldOut[0].points
    val unmerged = model.forward(points).value().dup()
    lora.merge() // W ← W + (alpha/r)·B·A: inference costs what the base costs
    val difference = Nd4j.math().abs(model.forward(points).value().sub(unmerged)).maxNumber().toDouble()
    println("merged: max |merged - unmerged| = %.2e".format(difference))
}

/** Trains every trainable parameter of [model] (the whole base, before adapters exist). */
fun pretrain(model: RingClassifier, batches: List<RingBatch>, epochs: Int): TrainingResult =
    train(model, batches) {
        this.epochs = epochs
        learningRate = 2e-2
        isProgress = false
        loss { batch -> model.loss(batch) }
        batchSize { it.size }
    }

/** Trains the adapters of [lora] on [batches], reporting held-out loss and accuracy every epoch. */
fun fineTune(lora: LoraModel<RingClassifier>, batches: List<RingBatch>, heldOut: List<RingBatch>, epochs: Int): TrainingResult {
    val model = lora.model()
    return train(model, batches) {
        this.epochs = epochs
        learningRate = 2e-2
        validation = heldOut
        isProgress = false
        loss { batch -> model.loss(batch) }
        batchSize { it.size }
        predictor { batch -> Predictor.Prediction(model.forward(batch.points).value(), batch.labels) }
    }
}

/**
 * LoRA placed by targets rather than annotations: rank 2 on `fc2` and the head (the `@field:LoRA`
 * annotations are ignored on this path).
 */
fun targetedLora(model: RingClassifier): LoraModel<RingClassifier> =
    lora(model) {
        rank = 2
        alpha = 4.0
        targets("fc2", "head")
    }

/** The fraction of points classified right. */
fun accuracy(model: RingClassifier, batches: List<RingBatch>): Double {
    var right = 0
    var all = 0
    GradMode.disable().use {
        for (batch in batches) {
            val predicted = model.forward(batch.points).value().argMax(1).toIntVector()
            right += predicted.indices.count { predicted[it] == batch.labels[it] }
            all += batch.size
        }
    }
    return right.toDouble() / all
}

/** The mean loss over [batches], weighted by their sizes. */
fun meanLoss(model: RingClassifier, batches: List<RingBatch>): Double {
    GradMode.disable().use {
        return batches.sumOf { model.loss(it).item() * it.size } / batches.sumOf { it.size }
    }
}
