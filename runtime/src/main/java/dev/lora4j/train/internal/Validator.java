package dev.lora4j.train.internal;

import dev.lora4j.autograd.GradMode;
import dev.lora4j.nn.Module;
import dev.lora4j.train.Predictor;
import dev.lora4j.train.TrainingConfig;
import dev.lora4j.train.TrainingTask;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One validation pass: the model in evaluation mode, grad mode off, the batch-size-weighted mean
 * loss, accuracy when the task has a predictor, then the task's extra metrics. The model's mode is
 * put back afterwards.
 *
 * @param <B> the batch type
 */
public final class Validator<B> {

    private final Module model;
    private final List<B> validation;
    private final TrainingTask<B> task;

    /** A validator over a fixed validation list. */
    public Validator(Module model, List<B> validation, TrainingTask<B> task) {
        this.model = model;
        this.validation = List.copyOf(validation);
        this.task = task;
    }

    /** The metrics by name. */
    @SuppressWarnings("try") // the grad-mode scope is used only for its close()
    public Map<String, Double> evaluate() {
        boolean wasTraining = model.isTraining();
        model.eval();
        try (GradMode.Scope ignored = GradMode.disable()) {
            Map<String, Double> metrics = new LinkedHashMap<>();
            double lossSum = 0;
            long examples = 0;
            long correct = 0;
            long counted = 0;
            Predictor<B> predictor = task.predictor();
            for (B batch : validation) {
                int n = task.batchSize(batch);
                lossSum += task.loss(batch).item() * n;
                examples += n;
                if (predictor != null) {
                    long[] c = countCorrect(predictor.predict(batch));
                    correct += c[0];
                    counted += c[1];
                }
            }
            metrics.put(TrainingConfig.VAL_LOSS, examples == 0 ? Double.NaN : lossSum / examples);
            if (predictor != null) {
                metrics.put(TrainingConfig.VAL_ACCURACY, counted == 0 ? Double.NaN : (double) correct / counted);
            }
            if (task.evaluator() != null) {
                metrics.putAll(task.evaluator().evaluate(validation));
            }
            return metrics;
        } finally {
            model.setTraining(wasTraining);
        }
    }

    /** {correct, counted} for one batch. */
    static long[] countCorrect(Predictor.Prediction prediction) {
        INDArray logits = prediction.logits();
        long classes = logits.size(logits.rank() - 1);
        INDArray rows = logits.reshape(logits.length() / classes, classes);
        int[] targets = prediction.targets();
        if (rows.size(0) != targets.length) {
            throw new IllegalArgumentException("predictor: " + rows.size(0) + " rows of logits but "
                    + targets.length + " targets");
        }
        int[] predicted = Nd4j.argMax(rows, 1).toIntVector();
        long correct = 0;
        long counted = 0;
        for (int i = 0; i < targets.length; i++) {
            if (targets[i] >= 0) {
                counted++;
                if (predicted[i] == targets[i]) {
                    correct++;
                }
            }
        }
        return new long[] {correct, counted};
    }
}
