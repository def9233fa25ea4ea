package dev.lora4j.train;

/**
 * Cuts a batch into consecutive runs of its examples, so that data-parallel workers can each take
 * one ({@link TrainingConfig.Builder#workers}). A slice must hold exactly examples {@code [from,
 * to)} of the batch, in order, in a form the task's loss and predictor accept; padding shared by
 * the whole batch may stay. Slicing may copy or view the batch's arrays, but must not change them.
 *
 * <pre>{@code
 * task.withSlicer((b, from, to) -> new Batch(
 *         b.ids().get(NDArrayIndex.interval(from, to)), Arrays.copyOfRange(b.labels(), from, to)));
 * }</pre>
 *
 * @param <B> the batch type
 */
@FunctionalInterface
public interface BatchSlicer<B> {

    /** Examples {@code [from, to)} of {@code batch}, {@code 0 <= from < to <= size}. */
    B slice(B batch, int from, int to);
}
