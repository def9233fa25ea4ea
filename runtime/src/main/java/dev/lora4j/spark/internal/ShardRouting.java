package dev.lora4j.spark.internal;

import dev.lora4j.spark.SparkJob;
import dev.lora4j.train.internal.DataParallel;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import scala.Tuple2;

/**
 * Cuts each global batch into one shard per task, keyed by the task's index: shard {@code k} holds
 * the examples in-process worker {@code k} of {@code N} would take ({@link DataParallel#bound}).
 *
 * @param <B> the batch type
 */
public final class ShardRouting<B> implements PairFlatMapFunction<Tuple2<B, Long>, Integer, RoutedShard<B>> {

    private static final long serialVersionUID = 1L;

    private final SparkJob<B> job;
    private final int tasks;

    /** Routing for {@code tasks} tasks. */
    public ShardRouting(SparkJob<B> job, int tasks) {
        this.job = job;
        this.tasks = tasks;
    }

    @Override
    public Iterator<Tuple2<Integer, RoutedShard<B>>> call(Tuple2<B, Long> indexed) {
        B batch = indexed._1();
        int index = Math.toIntExact(indexed._2());
        int size = job.size(batch);
        if (size < tasks) {
            throw new IllegalArgumentException(FailureText.PREFIX + "training batch " + index + " holds " + size
                    + " example(s), fewer than the " + tasks + " Spark tasks: every task takes a shard of every batch;"
                    + " use larger batches or fewer tasks");
        }
        List<Tuple2<Integer, RoutedShard<B>>> out = new ArrayList<>(tasks);
        for (int k = 0; k < tasks; k++) {
            int from = DataParallel.bound(size, tasks, k);
            int to = DataParallel.bound(size, tasks, k + 1);
            out.add(new Tuple2<>(k, new RoutedShard<>(index, size, from, to - from, job.slice(batch, from, to))));
        }
        return out.iterator();
    }
}
