package dev.lora4j.train;

import dev.lora4j.api.TrainingListener;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Records every step report and evaluation report of the latest run (cleared at each start), for
 * plotting or inspection after training. Not thread-safe; the trainer calls it from one thread.
 */
public final class LossHistory implements TrainingListener {

    private final List<StepReport> steps = new ArrayList<>();
    private final List<EvaluationReport> evaluations = new ArrayList<>();

    @Override
    public void onStart(TrainingStart start) {
        steps.clear();
        evaluations.clear();
    }

    @Override
    public void onStep(StepReport step) {
        steps.add(step);
    }

    @Override
    public void onEvaluation(EvaluationReport evaluation) {
        evaluations.add(evaluation);
    }

    /** The step reports, in order. */
    public List<StepReport> steps() {
        return List.copyOf(steps);
    }

    /** The evaluation reports, in order. */
    public List<EvaluationReport> evaluations() {
        return List.copyOf(evaluations);
    }

    /** The training loss of every step, in order. */
    public double[] losses() {
        return steps.stream().mapToDouble(StepReport::loss).toArray();
    }

    /** The steps as CSV: {@code step,epoch,loss,learning_rate,gradient_norm}, with a header. */
    public String stepsCsv() {
        StringBuilder b = new StringBuilder("step,epoch,loss,learning_rate,gradient_norm\n");
        for (StepReport s : steps) {
            b.append(String.format(Locale.ROOT, "%d,%d,%s,%s,%s\n", s.step(), s.epoch(), s.loss(), s.learningRate(),
                    s.gradientNorm()));
        }
        return b.toString();
    }

    /** The evaluations as CSV: {@code step,metric,value,val_loss,improved}, with a header. */
    public String evaluationsCsv() {
        StringBuilder b = new StringBuilder("step,metric,value,val_loss,improved\n");
        for (EvaluationReport e : evaluations) {
            b.append(String.format(Locale.ROOT, "%d,%s,%s,%s,%s\n", e.step(), e.metric(), e.value(),
                    e.validationLoss(), e.improved()));
        }
        return b.toString();
    }
}
