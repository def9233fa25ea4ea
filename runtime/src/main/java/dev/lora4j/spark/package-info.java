/**
 * Data-parallel LoRA training on Apache Spark.
 *
 * <ul>
 *   <li>{@link dev.lora4j.spark.SparkTrainer} trains one model on N barrier tasks, each on shard k
 *       of every global batch of a {@code JavaRDD}, exchanging only the trainable parameters'
 *       gradients task to task; the result equals in-process training with N workers;</li>
 *   <li>{@link dev.lora4j.spark.SparkJob} is what each task runs: it builds the model (once per
 *       task, the frozen base once per executor JVM through {@link dev.lora4j.spark.ExecutorShared})
 *       and says how to size and cut a batch;</li>
 *   <li>{@link dev.lora4j.spark.SparkTrainingResult} brings the trained values back to the driver;
 *       a failed job raises one {@link dev.lora4j.spark.SparkTrainingException}.</li>
 * </ul>
 *
 * <p>Spark is a {@code provided} dependency: an application that uses this package brings
 * {@code org.apache.spark:spark-core_2.13} (4.0).
 *
 * <p>Null-marked (JSpecify): parameters and results are non-null unless annotated
 * {@code @Nullable}.
 */
@NullMarked
package dev.lora4j.spark;

import org.jspecify.annotations.NullMarked;
