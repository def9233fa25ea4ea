package dev.lora4j.spark.internal;

import java.io.Serializable;

/**
 * One task's shard of one global batch: examples {@code [from, from + count)} of batch {@code
 * index}, which holds {@code globalSize} examples.
 *
 * @param index the global batch's position in the training data ({@code -1} for a validation batch)
 * @param globalSize the number of examples in the whole global batch
 * @param from where the shard starts in the global batch (it keys the dropout masks)
 * @param count the number of examples in the shard
 * @param batch the shard itself
 * @param <B> the batch type
 */
public record RoutedShard<B>(int index, int globalSize, int from, int count, B batch) implements Serializable {

    /** A whole batch as a shard of itself (validation batches, which every task evaluates whole). */
    public static <B> RoutedShard<B> whole(B batch, int size) {
        return new RoutedShard<>(-1, size, 0, size, batch);
    }
}
