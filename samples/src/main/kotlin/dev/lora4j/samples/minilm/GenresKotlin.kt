@file:JvmName("GenresKotlin")

package dev.lora4j.samples.minilm

import dev.lora4j.dsl.FineTuneSpec
import dev.lora4j.dsl.LoraDsl.finetune
import dev.lora4j.pipeline.FineTuneReport
import dev.lora4j.pipeline.FineTuneSetting
import kotlin.system.exitProcess

/**
 * The main job from Kotlin: the same pipeline as `lora4j finetune --model minilm-genres`, called
 * through lora4j's DSL ([dev.lora4j.dsl.LoraDsl.finetune]). Options are `name=value` arguments: any
 * fine-tune setting by its DSL name ([FineTuneSetting.ALL]: `rank`, `alpha`, `epochs`,
 * `learningRate`, `outputDir`, ...) and any of the job's parameters (`max-length`,
 * `train-per-class`, ...).
 *
 * ```
 * mvn -B -ntp -q install -DskipTests
 * MAVEN_OPTS=-Xmx2g mvn -B -ntp -q -pl samples exec:java -Dexec.mainClass=dev.lora4j.samples.minilm.GenresKotlin -Dexec.args="rank=4 epochs=1"
 * ```
 */
fun main(args: Array<String>) {
    val report = try {
        fineTuneGenres {
            for (arg in args) {
                val (name, value) = arg.split("=", limit = 2).takeIf { it.size == 2 }
                    ?: throw IllegalArgumentException("expected name=value, got '$arg'")
                val setting = FineTuneSetting.named(name).orElse(null)
                if (setting != null) give(setting, value) else param(name, value)
            }
        }
    } catch (e: IllegalArgumentException) {
        System.err.println(e.message)
        exitProcess(2)
    }
    println()
    print(report.table())
    exitProcess(0) // ND4J and the tokenizer leave non-daemon threads behind
}

/** Sets [setting] from its text. */
private fun <T : Any> FineTuneSpec.give(setting: FineTuneSetting<T>, text: String) = set(setting, setting.parse(text))

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
