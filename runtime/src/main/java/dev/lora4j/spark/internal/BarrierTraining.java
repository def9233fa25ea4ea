package dev.lora4j.spark.internal;

import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.spark.SparkJob;
import dev.lora4j.train.Predictor;
import dev.lora4j.train.Trainer;
import dev.lora4j.train.TrainingCheckpoint;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingResult;
import dev.lora4j.train.TrainingTask;
import dev.lora4j.train.internal.TrainingRun;
import dev.lora4j.train.internal.WorkerPool;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.BarrierTaskInfo;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import scala.Tuple2;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractFunction1;

/**
 * The body of one barrier task of a Spark training job. It collects its shard of every global
 * batch, builds its model ({@link SparkJob#setUp()}, one task of a JVM at a time), meets the other
 * tasks once through Spark's {@code allGather} to learn their addresses (and whether they resume
 * from a checkpoint), connects to them ({@link PeerMesh}), starts from task 0's trainable values,
 * and runs the ordinary training loop with {@link MeshGradients}: every task applies the same
 * update to its own copy of the adapters.
 *
 * <p>Spark's {@code allGather} is used for the rendezvous only: it took about one second per call
 * whatever the message size (it polls once a second), against a training step of about half a
 * second for the main job; a direct TCP exchange took milliseconds (BENCHMARKS.md).
 *
 * @param <B> the batch type
 */
public final class BarrierTraining<B> extends AbstractFunction1<Iterator<Tuple2<Integer, RoutedShard<B>>>,
        Iterator<TaskOutcome>> implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final Object SETUP_LOCK = new Object();

    private final SparkJob<B> job;
    private final int timeoutMillis;

    /**
     * The body for {@code job}.
     *
     * @param timeoutMillis how long a task waits for a peer's connection or message
     */
    public BarrierTraining(SparkJob<B> job, int timeoutMillis) {
        this.job = job;
        this.timeoutMillis = timeoutMillis;
    }

    /**
     * Trains, and returns this task's outcome. An exception in the job's code (its set-up, loss or
     * listeners) or the loss of a peer is returned as a failed outcome, so that Spark does not run
     * a deterministic failure again and the driver reports the first cause; an {@link Error} (the
     * task crashed) is thrown, so that Spark retries the stage, which then resumes from the last
     * checkpoint, as it does when an executor is lost.
     */
    @Override
    public Iterator<TaskOutcome> apply(Iterator<Tuple2<Integer, RoutedShard<B>>> input) {
        BarrierTaskContext context = BarrierTaskContext.get();
        int self = context.partitionId();
        int tasks = context.getTaskInfos().length;
        WorkerPool.singleThreaded();
        List<RoutedShard<B>> shards = new ArrayList<>();
        input.foreach(t -> shards.add(t._2()));
        shards.sort(Comparator.comparingInt(RoutedShard::index));
        Prepared<B> prepared;
        String rendezvous;
        try {
            prepared = prepare(context, self, tasks, shards);
            rendezvous = host(context.getTaskInfos()[self]) + " " + prepared.server().getLocalPort() + " "
                    + shards.size() + " " + prepared.resumeStep();
        } catch (RuntimeException e) {
            prepared = null;
            rendezvous = FAILED + "task " + self + " of " + tasks + " could not set up its model: " + e;
        }
        // every task takes part in the rendezvous, a failed one too, so that none waits for it in vain
        String[] peers = context.allGather(rendezvous);
        try (ServerSocket server = prepared == null ? null : prepared.server()) {
            for (int k = 0; k < peers.length; k++) {
                if (peers[k].startsWith(FAILED)) {
                    return outcome(TaskOutcome.failed(self, peers[k].substring(FAILED.length()), k != self));
                }
            }
            List<InetSocketAddress> addresses = new ArrayList<>();
            for (int k = 0; k < peers.length; k++) {
                String[] parts = peers[k].split(" ");
                addresses.add(new InetSocketAddress(parts[0], Integer.parseInt(parts[1])));
                if (Integer.parseInt(parts[2]) != shards.size() || Long.parseLong(parts[3]) != prepared.resumeStep()) {
                    return outcome(TaskOutcome.failed(self, "task " + k + " holds " + parts[2]
                            + " batches and resumes from step " + parts[3] + ", task " + self + " " + shards.size()
                            + " and " + prepared.resumeStep() + ": the tasks must see the same checkpoint directory",
                            false));
                }
            }
            try (PeerMesh mesh = PeerMesh.connect(self, addresses, server, timeoutMillis)) {
                return outcome(train(prepared, shards, mesh, context));
            }
        } catch (IOException e) {
            return outcome(TaskOutcome.failed(self, "task " + self + " of " + tasks
                    + " could not connect to the other tasks: " + e, true));
        }
    }

    private static final String FAILED = "FAILED ";

    /** A task's model, its listening socket, and the checkpoint it resumes from ({@code null}: none). */
    private record Prepared<B>(SparkJob.Setup<B> setup, ServerSocket server, TrainingCheckpoint resume) {

        long resumeStep() {
            return resume == null ? -1 : resume.globalStep();
        }
    }

    private Prepared<B> prepare(BarrierTaskContext context, int self, int tasks, List<RoutedShard<B>> shards) {
        for (int i = 0; i < shards.size(); i++) {
            if (shards.get(i).index() != i) {
                throw new IllegalStateException("task " + self + " received shards of batches " + shards.stream()
                        .map(RoutedShard::index).toList() + ", not of every batch once");
            }
        }
        SparkJob.Setup<B> setup;
        synchronized (SETUP_LOCK) {
            setup = job.setUp();
        }
        // a retried stage (a task crashed, an executor was lost) resumes from the last checkpoint
        boolean retry = context.stageAttemptNumber() > 0 || context.attemptNumber() > 0;
        TrainingConfig configured = setup.trainer().config();
        Path checkpoints = configured.checkpointEverySteps() > 0 ? configured.checkpointDirectory() : null;
        TrainingCheckpoint resume = retry && checkpoints != null
                && Files.exists(checkpoints.resolve(TrainingCheckpoint.STATE_FILE)) ? readCheckpoint(checkpoints, self) : null;
        return new Prepared<>(setup, PeerMesh.listen(tasks), resume);
    }

    private static Iterator<TaskOutcome> outcome(TaskOutcome outcome) {
        return CollectionConverters.asScala(List.of(outcome).iterator());
    }

    private TaskOutcome train(Prepared<B> prepared, List<RoutedShard<B>> shards, PeerMesh mesh,
            BarrierTaskContext context) {
        SparkJob.Setup<B> setup = prepared.setup();
        int self = mesh.self();
        // task 0 alone reports progress and writes checkpoints
        Trainer trainer = self == 0 ? setup.trainer()
                : new Trainer(setup.trainer().config().toBuilder().checkpointEvery(0, null).build(),
                        setup.trainer().optimizers(), setup.trainer().schedules(), Set.of());
        TrainingConfig config = trainer.config();
        Module model = setup.model();
        Map<String, Parameter> trainable = trainable(model);
        ParameterCodec codec = new ParameterCodec(List.copyOf(trainable.values()));
        startFromTaskZero(codec, mesh);
        TrainingTask<B> task = setup.task();
        List<RoutedShard<B>> validation = setup.validation().stream()
                .map(b -> RoutedShard.whole(b, task.batchSize(b))).toList();
        MeshGradients<B> exchange = new MeshGradients<>(mesh, task, config.seed(), List.copyOf(trainable.values()));
        TrainingRun<RoutedShard<B>> run = TrainingRun.prepare(model, shards, validation, onShards(task), config,
                trainer.optimizers(), trainer.schedules(), trainer.listeners(), (m, params) -> exchange);
        TrainingResult result;
        try {
            if (prepared.resume() != null) {
                run.restore(prepared.resume(), setup.trainer().config().checkpointDirectory().toString());
            }
            result = run.run();
        } catch (RuntimeException e) {
            return TaskOutcome.failed(self, "task " + self + " of " + mesh.size() + " failed at step "
                    + exchange.lastStep() + ": " + e, e instanceof PeerLostException);
        }
        CRC32 checksum = new CRC32(); // over the bits of every trained value, to check that the tasks agree
        checksum.update(codec.encode(0, 0, Parameter::value));
        Map<String, Object> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        if (self == 0) {
            trainable.forEach((name, p) -> {
                INDArray v = p.value().dup('c');
                values.put(name, v.dataType() == DataType.DOUBLE ? v.data().asDouble() : v.data().asFloat());
                shapes.put(name, p.shape());
            });
        }
        return new TaskOutcome(self, result, values, shapes, checksum.getValue(), exchange.gradientBytesSent(),
                mesh.bytesReceived(), exchange.gradientExchanges(), mesh.exchangeNanos(), exchange.messageBytes(),
                prepared.resumeStep(), context.stageAttemptNumber(), null, false);
    }

    /** Every task starts from task 0's trainable values (its own setup may have drawn others). */
    private static void startFromTaskZero(ParameterCodec codec, PeerMesh mesh) {
        byte[] mine = mesh.self() == 0 ? codec.encode(0, 0, Parameter::value) : new byte[0];
        byte[][] all = mesh.allGather(mine);
        if (mesh.self() != 0) {
            codec.assignValues(codec.decode(all[0], 0));
        }
    }

    private static Map<String, Parameter> trainable(Module model) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> {
            if (p.isTrainable()) {
                out.put(name, p);
            }
        });
        return out;
    }

    /** The user's task over routed shards: the shard's batch, counted as its whole global batch. */
    private static <B> TrainingTask<RoutedShard<B>> onShards(TrainingTask<B> task) {
        TrainingTask<RoutedShard<B>> out = TrainingTask.of(s -> task.loss(s.batch()), RoutedShard::globalSize);
        Predictor<B> predictor = task.predictor();
        if (predictor != null) {
            out = out.withPredictor(s -> predictor.predict(s.batch()));
        }
        if (task.evaluator() != null) {
            out = out.withEvaluator(list -> task.evaluator().evaluate(list.stream().map(RoutedShard::batch).toList()));
        }
        return out;
    }

    private static TrainingCheckpoint readCheckpoint(Path dir, int self) {
        try {
            return TrainingCheckpoint.read(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("task " + self + " cannot read the training checkpoint in " + dir, e);
        }
    }

    private static String host(BarrierTaskInfo info) {
        String address = info.address();
        int colon = address.lastIndexOf(':');
        return colon < 0 ? address : address.substring(0, colon);
    }
}
