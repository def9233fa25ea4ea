package dev.lora4j.spark.internal;

import dev.lora4j.nn.Parameter;
import dev.lora4j.train.TrainingTask;
import dev.lora4j.train.internal.DataParallel;
import dev.lora4j.train.internal.StepGradients;
import dev.lora4j.train.internal.WorkerPool;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The step gradients of one Spark task: its shard's loss and gradient (weighted by the shard's part
 * of the global batch, with the global batch's dropout masks), exchanged with every other task
 * through the {@link PeerMesh}; every task then sums the shards' gradients in task order, so that
 * all of them hold the same gradients, the ones in-process workers would have summed.
 *
 * @param <B> the user's batch type
 */
public final class MeshGradients<B> implements StepGradients<RoutedShard<B>> {

    private final PeerMesh mesh;
    private final TrainingTask<B> task;
    private final long seed;
    private final List<Parameter> trainable;
    private final ParameterCodec codec;
    private final WorkerPool evaluation = new WorkerPool(1);
    private long lastStep;
    private long gradientBytesSent;
    private long gradientExchanges;

    /** The gradients of a task over {@code trainable}. */
    public MeshGradients(PeerMesh mesh, TrainingTask<B> task, long seed, List<Parameter> trainable) {
        this.mesh = mesh;
        this.task = task;
        this.seed = seed;
        this.trainable = List.copyOf(trainable);
        this.codec = new ParameterCodec(trainable);
    }

    @Override
    public int workers() {
        return mesh.size();
    }

    /** The last step computed (0 before the first). */
    public long lastStep() {
        return lastStep;
    }

    /** Bytes this task sent in gradient exchanges (validation results not counted). */
    public long gradientBytesSent() {
        return gradientBytesSent;
    }

    /** The gradient exchanges this task took part in: one per step. */
    public long gradientExchanges() {
        return gradientExchanges;
    }

    /** The length of one task's message per step. */
    public int messageBytes() {
        return codec.messageBytes();
    }

    @Override
    public double lossAndGradients(RoutedShard<B> shard, int size, long step) {
        lastStep = step;
        int tasks = mesh.size();
        double own = DataParallel.shardLoss(task, shard.batch(), seed, step, shard.from(), shard.count(),
                DataParallel.share(shard.globalSize(), tasks, mesh.self()));
        long sentBefore = mesh.bytesSent();
        byte[][] all = mesh.allGather(codec.encode(step, own, Parameter::grad));
        gradientBytesSent += mesh.bytesSent() - sentBefore;
        gradientExchanges++;
        double loss = 0;
        for (int k = 0; k < tasks; k++) {
            if (ParameterCodec.step(all[k]) != step) {
                throw new IllegalStateException("task " + k + " sent step " + ParameterCodec.step(all[k])
                        + " while task " + mesh.self() + " is at step " + step);
            }
            loss += DataParallel.share(shard.globalSize(), tasks, k) * ParameterCodec.number(all[k]);
        }
        if (Double.isFinite(loss)) {
            sum(all);
        }
        return loss;
    }

    /** The shards' gradients summed in task order into the parameters' gradient buffers. */
    private void sum(byte[][] all) {
        INDArray[][] decoded = new INDArray[all.length][];
        for (int k = 0; k < all.length; k++) {
            decoded[k] = codec.decode(all[k], k);
        }
        for (int i = 0; i < trainable.size(); i++) {
            Parameter p = trainable.get(i);
            INDArray target = p.grad();
            if (target == null) {
                target = decoded[0][i].dup();
                p.restoreGrad(target);
            } else {
                target.assign(decoded[0][i]);
            }
            for (int k = 1; k < all.length; k++) {
                target.addi(decoded[k][i]);
            }
        }
    }

    /**
     * {@code f} of every item, in order: task {@code k} computes items {@code k, k + N, …} and the
     * tasks exchange their results (which must be serializable), so that a validation pass costs
     * each task 1/N of it and every task gets all the results.
     */
    @Override
    public <T, R> List<R> evaluate(List<T> items, Function<T, R> f) {
        int tasks = mesh.size();
        List<T> mine = new ArrayList<>();
        for (int i = mesh.self(); i < items.size(); i += tasks) {
            mine.add(items.get(i));
        }
        byte[][] all = mesh.allGather(serialize(new ArrayList<>(evaluation.evaluate(mine, f))));
        List<List<R>> parts = new ArrayList<>();
        for (int k = 0; k < tasks; k++) {
            parts.add(deserialize(all[k], k));
        }
        List<R> out = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            out.add(parts.get(i % tasks).get(i / tasks));
        }
        return out;
    }

    private static byte[] serialize(ArrayList<?> results) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(results);
        } catch (IOException e) {
            throw new IllegalStateException("validation results must be serializable to be shared by the Spark tasks: "
                    + e, e);
        }
        return bytes.toByteArray();
    }

    @SuppressWarnings("unchecked")
    private static <R> List<R> deserialize(byte[] bytes, int from) {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
            return (List<R>) in.readObject();
        } catch (IOException | ClassNotFoundException e) {
            throw new IllegalStateException("cannot read the validation results of task " + from + ": " + e, e);
        }
    }

    @Override
    public void close() {
        evaluation.close();
    }
}
