package dev.lora4j.pipeline;

import java.util.List;

/**
 * A job's batches.
 *
 * @param train one epoch's training batches
 * @param validation evaluated during training (early stopping, best weights)
 * @param test evaluated once training is done, unmerged and merged
 * @param <B> a batch of examples
 */
public record FineTuneData<B>(List<B> train, List<B> validation, List<B> test) {

    /**
     * Copies the lists.
     *
     * @throws IllegalArgumentException when there is no training or no test batch
     */
    public FineTuneData {
        train = List.copyOf(train);
        validation = List.copyOf(validation);
        test = List.copyOf(test);
        if (train.isEmpty() || test.isEmpty()) {
            throw new IllegalArgumentException("a fine-tune needs training and test batches, got " + train.size()
                    + " training and " + test.size() + " test batches");
        }
    }
}
