package dev.lora4j.train.internal;

import dev.lora4j.NativeThreads;
import dev.lora4j.api.TrainingListener.EvaluationReport;
import dev.lora4j.api.TrainingListener.StepReport;
import dev.lora4j.api.TrainingListener.TrainingEnd;
import dev.lora4j.api.TrainingListener.TrainingStart;
import dev.lora4j.api.TrainingListener;
import dev.lora4j.nn.CheckpointableRandom;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.train.CheckpointException;
import dev.lora4j.train.Evaluation;
import dev.lora4j.train.GradientClipping;
import dev.lora4j.train.LearningRateSchedule;
import dev.lora4j.train.NonFiniteEvent;
import dev.lora4j.train.NonFinitePolicy;
import dev.lora4j.train.Optimizer;
import dev.lora4j.train.OptimizerFactory;
import dev.lora4j.train.ParameterState;
import dev.lora4j.train.ScheduleFactory;
import dev.lora4j.train.StopReason;
import dev.lora4j.train.TrainingCheckpoint;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingResult;
import dev.lora4j.train.TrainingTask;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The loop of one {@code Trainer.fit} call; used once.
 *
 * @param <B> the batch type
 */
public final class TrainingRun<B> {

    private final Module model;
    private final List<B> training;
    private final TrainingTask<B> task;
    private final TrainingConfig config;
    private final Optimizer optimizer;
    private final LearningRateSchedule schedule;
    private final List<TrainingListener> listeners;
    private final long plannedSteps;
    private final Map<String, Parameter> trainableByName = new LinkedHashMap<>();
    private final List<Parameter> trainable;
    private final Validator<B> validator;
    private final BestMetricTracker tracker;
    private final WeightSnapshot bestWeights;
    private final Throughput throughput = new Throughput();
    private final HeapRelease heapRelease = new HeapRelease();
    private final StepGradients<B> parallel;

    private final List<Double> losses = new ArrayList<>();
    private final List<Evaluation> evaluations = new ArrayList<>();
    private final List<NonFiniteEvent> nonFiniteEvents = new ArrayList<>();
    private long step;
    private long lastEvaluatedStep = -1;
    private final CheckpointableRandom shuffleRandom;
    private final List<Integer> order = new ArrayList<>();
    private int epoch = 1;
    private int position;

    /**
     * Where a run's step gradients come from, given the model and its trainable parameters; returns
     * {@code null} for the classic way (the batch's forward and backward on the calling thread).
     *
     * @param <B> the batch type
     */
    @FunctionalInterface
    public interface GradientSource<B> {

        /** The step gradients of a run over {@code model}. */
        StepGradients<B> create(Module model, List<Parameter> trainable);
    }

    /**
     * Prepares a run: checks the inputs, plans the steps, creates the optimizer and the schedule.
     *
     * @param validation may be empty (then nothing is evaluated)
     * @param gradients where the step gradients come from, {@code null} for {@link DataParallel}'s
     *     choice (workers per {@link TrainingConfig#workers()}, or the classic way)
     */
    public static <B> TrainingRun<B> prepare(Module model, List<B> training, List<B> validation, TrainingTask<B> task,
            TrainingConfig config, OptimizerFactory optimizers, ScheduleFactory schedules,
            List<TrainingListener> listeners, GradientSource<B> gradients) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(task, "task");
        if (training.isEmpty()) {
            throw new IllegalArgumentException("no training batches");
        }
        if (model.trainableParameterCount() == 0) {
            throw new IllegalStateException("the model has no trainable parameters");
        }
        long epochSteps = Math.multiplyExact((long) config.epochs(), training.size());
        long planned = Math.min(config.maxSteps(), epochSteps);
        Optimizer optimizer = optimizers.create(model);
        LearningRateSchedule schedule = schedules.create(config.learningRate(),
                Math.min(config.warmupSteps(), planned), planned);
        GradientSource<B> source = gradients != null ? gradients
                : (m, trainable) -> DataParallel.create(m, task, config, trainable);
        return new TrainingRun<>(model, training, validation, task, config, optimizer, schedule, listeners, planned,
                source);
    }

    private TrainingRun(Module model, List<B> training, List<B> validation, TrainingTask<B> task, TrainingConfig config,
            Optimizer optimizer, LearningRateSchedule schedule, List<TrainingListener> listeners, long plannedSteps,
            GradientSource<B> gradients) {
        this.model = model;
        this.training = List.copyOf(training);
        this.task = task;
        this.config = config;
        this.optimizer = optimizer;
        this.schedule = schedule;
        this.listeners = List.copyOf(listeners);
        this.plannedSteps = plannedSteps;
        model.namedParameters().forEach((name, p) -> {
            if (p.isTrainable()) {
                trainableByName.put(name, p);
            }
        });
        this.trainable = List.copyOf(trainableByName.values());
        this.parallel = gradients.create(model, trainable);
        if (parallel == null && config.workers() == TrainingConfig.AUTO_WORKERS && NativeThreads.atDefaults()) {
            // one training thread: threaded GEMMs, single-threaded element-wise work (measured fastest;
            // ND4J's default of every op on every core was slower than one thread)
            NativeThreads.split(WorkerPool.cores(), 1);
        }
        this.validator = validation.isEmpty() ? null : new Validator<>(model, validation, task, parallel);
        this.tracker = new BestMetricTracker(config.goal(), config.minDelta());
        // buffers (BatchNorm running statistics) change in training too; restoring the best weights restores them
        this.bestWeights = new WeightSnapshot(trainable, model.namedBuffers().values());
        this.shuffleRandom = new CheckpointableRandom(config.seed());
        for (int i = 0; i < this.training.size(); i++) {
            order.add(i);
        }
        if (config.checkpointEverySteps() > 0) {
            generators(); // a generator that cannot be checkpointed fails now, not at the first save
        }
    }

    /** The data-parallel workers this run trains on (1 when it trains the classic way). */
    public int workers() {
        return parallel == null ? 1 : parallel.workers();
    }

    /** Trains and returns the outcome; stops the run's worker threads at the end. */
    public TrainingResult run() {
        try {
            return runOnce();
        } finally {
            if (parallel != null) {
                parallel.close();
            }
        }
    }

    private TrainingResult runOnce() {
        long start = System.nanoTime();
        listeners.forEach(l -> l.onStart(new TrainingStart(plannedSteps, config.epochs(),
                model.trainableParameterCount(), model.parameterCount())));
        StopReason reason = loop();
        if (validator != null && step > 0 && lastEvaluatedStep != step
                && (reason == StopReason.COMPLETED || reason == StopReason.MAX_STEPS)) {
            evaluate(epochOf(step));
        }
        if (config.restoreBestWeights() && bestWeights.isCaptured()) {
            bestWeights.restore();
        }
        model.eval();
        TrainingResult result = new TrainingResult(step, losses, evaluations, config.monitor(), tracker.best(),
                tracker.bestStep(), reason, nonFiniteEvents, Duration.ofNanos(System.nanoTime() - start), workers());
        listeners.forEach(l -> l.onFinish(new TrainingEnd(result.steps(), result.stoppedEarly(), result.bestMetric(),
                result.bestStep())));
        return result;
    }

    private StopReason loop() {
        for (; epoch <= config.epochs(); epoch++) {
            if (position == 0 && config.shuffle()) {
                Collections.shuffle(order, shuffleRandom);
            }
            model.train();
            while (position < order.size()) {
                if (step >= plannedSteps) {
                    return StopReason.MAX_STEPS;
                }
                int index = order.get(position++);
                NonFiniteEvent event = trainStep(training.get(index), epoch);
                heapRelease.afterStep();
                if (event != null && config.nonFinitePolicy() == NonFinitePolicy.STOP) {
                    return StopReason.NON_FINITE;
                }
                if (config.evalEverySteps() > 0 && step % config.evalEverySteps() == 0 && evaluate(epoch)) {
                    return StopReason.EARLY_STOPPING;
                }
                if (config.checkpointEverySteps() > 0 && step % config.checkpointEverySteps() == 0) {
                    saveCheckpoint();
                }
            }
            if (config.evalEveryEpoch() && lastEvaluatedStep != step && evaluate(epoch)) {
                return StopReason.EARLY_STOPPING;
            }
            position = 0;
        }
        return StopReason.COMPLETED;
    }

    /** The model's generators; each must be checkpointable. */
    private Map<String, CheckpointableRandom> generators() {
        Map<String, CheckpointableRandom> out = new LinkedHashMap<>();
        model.namedGenerators().forEach((path, random) -> {
            if (!(random instanceof CheckpointableRandom c)) {
                throw new CheckpointException("training checkpoints need every random generator's state, but " + path
                        + " draws from a " + random.getClass().getName() + "; give it a CheckpointableRandom"
                        + " (Init.random() is one)");
            }
            out.put(path, c);
        });
        return out;
    }

    /** The run's state now, between two steps. */
    public TrainingCheckpoint checkpoint() {
        Map<String, CheckpointableRandom.State> rngs = new LinkedHashMap<>();
        generators().forEach((path, random) -> rngs.put(path, random.state()));
        Map<String, INDArray> values = new LinkedHashMap<>();
        Map<String, ParameterState> states = new LinkedHashMap<>();
        trainableByName.forEach((name, p) -> {
            values.put(name, p.value().dup());
            ParameterState state = optimizer.exportState(p);
            if (state != null) {
                states.put(name, state);
            }
        });
        Map<String, INDArray> best = new LinkedHashMap<>();
        if (bestWeights.isCaptured()) {
            List<String> names = new ArrayList<>(trainableByName.keySet());
            for (int i = 0; i < names.size(); i++) {
                best.put(names.get(i), bestWeights.copies().get(i).dup());
            }
        }
        return new TrainingCheckpoint(step, epoch, position, order, plannedSteps, config.epochs(), training.size(),
                config.seed(), shuffleRandom.state(), rngs, optimizer.getClass().getName(), values, states, losses,
                evaluations, nonFiniteEvents, tracker.best(), tracker.bestStep(), tracker.evaluationsWithoutImprovement(),
                lastEvaluatedStep, best);
    }

    private void saveCheckpoint() {
        try {
            checkpoint().save(config.checkpointDirectory());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save the training checkpoint at step " + step + " to "
                    + config.checkpointDirectory(), e);
        }
    }

    /**
     * Continues from {@code checkpoint}: restores the parameters, the optimizer state, the
     * generators and the loop position. Everything is checked against this run before anything
     * changes.
     *
     * @throws CheckpointException when the checkpoint belongs to another run, naming the field
     */
    public void restore(TrainingCheckpoint checkpoint, String source) {
        String where = "checkpoint " + source + ": ";
        same(where, "training_batches", checkpoint.trainingBatches(), training.size());
        same(where, "epochs", checkpoint.epochs(), config.epochs());
        same(where, "planned_steps", checkpoint.plannedSteps(), plannedSteps);
        same(where, "seed", checkpoint.seed(), config.seed());
        same(where, "optimizer", checkpoint.optimizerType(), optimizer.getClass().getName());
        if (!checkpoint.parameters().keySet().equals(trainableByName.keySet())) {
            List<String> missing = new ArrayList<>(trainableByName.keySet());
            missing.removeAll(checkpoint.parameters().keySet());
            List<String> extra = new ArrayList<>(checkpoint.parameters().keySet());
            extra.removeAll(trainableByName.keySet());
            throw new CheckpointException(where + "trainable parameters differ: not in the checkpoint " + missing
                    + ", only in the checkpoint " + extra);
        }
        trainableByName.forEach((name, p) -> {
            if (!java.util.Arrays.equals(checkpoint.parameters().get(name).shape(), p.shape())) {
                throw new CheckpointException(where + "parameter '" + name + "' has shape "
                        + java.util.Arrays.toString(checkpoint.parameters().get(name).shape()) + " in the checkpoint but "
                        + java.util.Arrays.toString(p.shape()) + " in the model");
            }
        });
        Map<String, CheckpointableRandom> rngs = generators();
        if (!rngs.keySet().equals(checkpoint.generators().keySet())) {
            throw new CheckpointException(where + "random generators differ: the model has " + rngs.keySet()
                    + ", the checkpoint " + checkpoint.generators().keySet());
        }
        if (checkpoint.order().size() != training.size() || checkpoint.positionInEpoch() > training.size()) {
            throw new CheckpointException(where + "order holds " + checkpoint.order().size() + " batches for "
                    + training.size() + " training batches");
        }
        trainableByName.forEach((name, p) -> {
            p.value().assign(checkpoint.parameters().get(name));
            ParameterState state = checkpoint.optimizerState().get(name);
            if (state != null) {
                try {
                    optimizer.importState(p, state);
                } catch (IllegalArgumentException e) {
                    throw new CheckpointException(where + "optimizer state of '" + name + "': " + e.getMessage(), e);
                }
            }
        });
        rngs.forEach((path, random) -> random.restore(checkpoint.generators().get(path)));
        shuffleRandom.restore(checkpoint.shuffleRandom());
        order.clear();
        order.addAll(checkpoint.order());
        step = checkpoint.globalStep();
        epoch = checkpoint.epoch();
        position = checkpoint.positionInEpoch();
        losses.clear();
        losses.addAll(checkpoint.losses());
        evaluations.clear();
        evaluations.addAll(checkpoint.evaluations());
        nonFiniteEvents.clear();
        nonFiniteEvents.addAll(checkpoint.nonFiniteEvents());
        tracker.restore(checkpoint.best(), checkpoint.bestStep(), checkpoint.evaluationsWithoutImprovement());
        lastEvaluatedStep = checkpoint.lastEvaluatedStep();
        if (!checkpoint.bestWeights().isEmpty()) {
            bestWeights.load(new ArrayList<>(trainableByName.keySet()).stream().map(checkpoint.bestWeights()::get).toList());
        }
    }

    private static void same(String where, String field, Object inCheckpoint, Object now) {
        if (!inCheckpoint.equals(now)) {
            throw new CheckpointException(where + field + " is " + inCheckpoint + " in the checkpoint but " + now + " now");
        }
    }

    /** One step; returns the non-finite event when the update was not applied. */
    private NonFiniteEvent trainStep(B batch, int epoch) {
        long t0 = System.nanoTime();
        step++;
        double lr = schedule.learningRate(step - 1);
        optimizer.zeroGrad();
        double lossValue = lossAndGradients(batch);
        double norm = Double.NaN;
        NonFiniteEvent event = null;
        if (!Double.isFinite(lossValue)) {
            event = new NonFiniteEvent(step, epoch, lossValue, Double.NaN, null);
        } else {
            norm = config.maxGradNorm() > 0
                    ? GradientClipping.clipByGlobalNorm(trainable, config.maxGradNorm())
                    : GradientClipping.globalNorm(trainable);
            if (!Double.isFinite(norm)) {
                event = new NonFiniteEvent(step, epoch, lossValue, norm,
                        NonFiniteGradients.first(trainableByName).orElse(null));
            }
        }
        if (event == null) {
            optimizer.step(lr);
        } else {
            optimizer.zeroGrad();
            nonFiniteEvents.add(event);
        }
        losses.add(lossValue);
        throughput.record(System.nanoTime() - t0, task.batchSize(batch));
        StepReport report = new StepReport(step, epoch, lossValue, lr, norm, throughput.examplesPerSecond(),
                plannedSteps, throughput.secondsRemaining(plannedSteps - step));
        listeners.forEach(l -> l.onStep(report));
        return event;
    }

    /**
     * The batch's loss; its gradient is in the parameters' buffers when the loss is finite. The
     * step's arrays live in the thread's step memory on either path ({@link StepLoss}).
     */
    private double lossAndGradients(B batch) {
        if (parallel != null) {
            return parallel.lossAndGradients(batch, task.batchSize(batch), step);
        }
        return StepLoss.backward(task, batch, 1.0);
    }

    /** Runs a validation pass if there is validation data; returns whether early stopping fires. */
    private boolean evaluate(int epoch) {
        if (validator == null) {
            return false;
        }
        lastEvaluatedStep = step;
        Map<String, Double> metrics = validator.evaluate();
        Double value = metrics.get(config.monitor());
        if (value == null) {
            throw new IllegalStateException("the monitored metric '" + config.monitor()
                    + "' is not among the validation metrics " + metrics.keySet()
                    + "; set TrainingConfig.monitor or add it with TrainingTask.withEvaluator");
        }
        boolean improved = tracker.record(value, step);
        if (improved && config.restoreBestWeights()) {
            bestWeights.capture();
        }
        evaluations.add(new Evaluation(step, epoch, metrics));
        double valLoss = metrics.getOrDefault(TrainingConfig.VAL_LOSS, Double.NaN);
        EvaluationReport report = new EvaluationReport(step, config.monitor(), value, valLoss, improved);
        listeners.forEach(l -> l.onEvaluation(report));
        return config.earlyStopping() && tracker.exhausted(config.patience());
    }

    private int epochOf(long globalStep) {
        return (int) Math.min(config.epochs(), (globalStep - 1) / training.size() + 1);
    }
}
