package dev.lora4j.samples.minilm;

import dev.lora4j.spark.SparkJob;

/**
 * A Spark training job over the main job's batches: their size and how to cut them by sentence
 * ({@link GenreData.Batch#slice}); subclasses build the model.
 */
public abstract class GenreBatchJob implements SparkJob<GenreData.Batch> {

    private static final long serialVersionUID = 1L;

    @Override
    public int size(GenreData.Batch batch) {
        return batch.size();
    }

    @Override
    public GenreData.Batch slice(GenreData.Batch batch, int from, int to) {
        return batch.slice(from, to);
    }
}
