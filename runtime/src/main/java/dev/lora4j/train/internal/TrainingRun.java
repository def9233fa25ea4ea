package dev.lora4j.train.internal;

import dev.lora4j.api.TrainingListener;
import dev.lora4j.api.TrainingListener.EvaluationReport;
import dev.lora4j.api.TrainingListener.StepReport;
import dev.lora4j.api.TrainingListener.TrainingEnd;
import dev.lora4j.api.TrainingListener.TrainingStart;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.train.Evaluation;
import dev.lora4j.train.GradientClipping;
import dev.lora4j.train.LearningRateSchedule;
import dev.lora4j.train.NonFiniteEvent;
import dev.lora4j.train.NonFinitePolicy;
import dev.lora4j.train.Optimizer;
import dev.lora4j.train.StopReason;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingResult;
import dev.lora4j.train.TrainingTask;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

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

    private final List<Double> losses = new ArrayList<>();
    private final List<Evaluation> evaluations = new ArrayList<>();
    private final List<NonFiniteEvent> nonFiniteEvents = new ArrayList<>();
    private long step;
    private long lastEvaluatedStep = -1;

    /**
     * Prepares a run.
     *
     * @param validation may be empty (then nothing is evaluated)
     * @param plannedSteps {@code min(maxSteps, epochs × batches)}
     */
    public TrainingRun(Module model, List<B> training, List<B> validation, TrainingTask<B> task, TrainingConfig config,
            Optimizer optimizer, LearningRateSchedule schedule, List<TrainingListener> listeners, long plannedSteps) {
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
        this.validator = validation.isEmpty() ? null : new Validator<>(model, validation, task);
        this.tracker = new BestMetricTracker(config.goal(), config.minDelta());
        // buffers (BatchNorm running statistics) change in training too; restoring the best weights restores them
        this.bestWeights = new WeightSnapshot(trainable, model.namedBuffers().values());
    }

    /** Trains and returns the outcome. */
    public TrainingResult run() {
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
                tracker.bestStep(), reason, nonFiniteEvents, Duration.ofNanos(System.nanoTime() - start));
        listeners.forEach(l -> l.onFinish(new TrainingEnd(result.steps(), result.stoppedEarly(), result.bestMetric(),
                result.bestStep())));
        return result;
    }

    private StopReason loop() {
        Random random = new Random(config.seed());
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < training.size(); i++) {
            order.add(i);
        }
        for (int epoch = 1; epoch <= config.epochs(); epoch++) {
            if (config.shuffle()) {
                Collections.shuffle(order, random);
            }
            model.train();
            for (int index : order) {
                if (step >= plannedSteps) {
                    return StopReason.MAX_STEPS;
                }
                NonFiniteEvent event = trainStep(training.get(index), epoch);
                if (event != null && config.nonFinitePolicy() == NonFinitePolicy.STOP) {
                    return StopReason.NON_FINITE;
                }
                if (config.evalEverySteps() > 0 && step % config.evalEverySteps() == 0 && evaluate(epoch)) {
                    return StopReason.EARLY_STOPPING;
                }
            }
            if (config.evalEveryEpoch() && lastEvaluatedStep != step && evaluate(epoch)) {
                return StopReason.EARLY_STOPPING;
            }
        }
        return StopReason.COMPLETED;
    }

    /** One step; returns the non-finite event when the update was not applied. */
    private NonFiniteEvent trainStep(B batch, int epoch) {
        long t0 = System.nanoTime();
        step++;
        double lr = schedule.learningRate(step - 1);
        optimizer.zeroGrad();
        Tensor loss = task.loss(batch);
        double lossValue = loss.item();
        double norm = Double.NaN;
        NonFiniteEvent event = null;
        if (!Double.isFinite(lossValue)) {
            event = new NonFiniteEvent(step, epoch, lossValue, Double.NaN, null);
        } else {
            loss.backward();
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
