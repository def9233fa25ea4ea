package dev.lora4j.spark.internal;

import org.apache.spark.Partitioner;

/** Puts the shards keyed {@code k} into partition {@code k}: one partition per training task. */
public final class TaskPartitioner extends Partitioner {

    private static final long serialVersionUID = 1L;

    private final int tasks;

    /** A partitioner for {@code tasks} tasks. */
    public TaskPartitioner(int tasks) {
        this.tasks = tasks;
    }

    @Override
    public int numPartitions() {
        return tasks;
    }

    @Override
    public int getPartition(Object key) {
        return (Integer) key;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TaskPartitioner p && p.tasks == tasks;
    }

    @Override
    public int hashCode() {
        return tasks;
    }
}
