@file:JvmName("GenresKotlin")

package dev.lora4j.samples.minilm

import dev.lora4j.dsl.FineTuneSpec
import dev.lora4j.dsl.LoraDsl.finetune
import dev.lora4j.pipeline.FineTuneReport
import kotlin.system.exitProcess

/**
 * The main job from Kotlin: the same pipeline as `lora4j finetune --model minilm-genres`, called
 * through lora4j's DSL ([dev.lora4j.dsl.LoraDsl.finetune]). Options are `name=value` arguments:
 * `rank`, `alpha`, `epochs`, `lr`, `output`, and any of the job's parameters (`max-length`,
 * `train-per-class`, ...).
 *
 * ```
 * mvn -B -ntp -q install -DskipTests
 * MAVEN_OPTS=-Xmx2g mvn -B -ntp -q -pl samples exec:java -Dexec.mainClass=dev.lora4j.samples.minilm.GenresKotlin -Dexec.args="rank=4 epochs=1"
 * ```
 */
fun main(args: Array<String>) {
    val options = args.associate { arg ->
        val (name, value) = arg.split("=", limit = 2).takeIf { it.size == 2 }
            ?: run {
                System.err.println("expected name=value, got '$arg'")
                exitProcess(2)
            }
        name to value
    }
    val report = fineTuneGenres(
        rank = options["rank"]?.toInt() ?: 8,
        alpha = options["alpha"]?.toDouble() ?: 16.0,
        epochs = options["epochs"]?.toInt() ?: 3,
    ) {
        options["lr"]?.let { learningRate = it.toDouble() }
        options["output"]?.let { outputDir = java.nio.file.Path.of(it) }
        options.filterKeys { it !in setOf("rank", "alpha", "epochs", "lr", "output") }.forEach { (name, value) -> param(name, value) }
    }
    println()
    print(report.table())
    exitProcess(0) // ND4J and the tokenizer leave non-daemon threads behind
}

/**
 * LoRA on MiniLM's query and value projections for the genre task: [rank], [alpha] and [epochs] as
 * named arguments with defaults, anything else of [FineTuneSpec] in [more].
 */
fun fineTuneGenres(rank: Int = 8, alpha: Double = 16.0, epochs: Int = 3, more: FineTuneSpec.() -> Unit = {}): FineTuneReport =
    finetune(GenreFineTune.NAME) {
        this.rank = rank
        this.alpha = alpha
        targets("query", "value")
        this.epochs = epochs
        more()
    }
