package dev.lora4j.train.internal;

import dev.lora4j.api.TrainingListener;
import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress for logs (no terminal): one line at the first step, every {@code every} steps, at the
 * last step and at any non-finite loss; one line per evaluation and at start and end. Nothing is
 * redrawn, so a CI log stays readable.
 */
public final class LineProgress implements TrainingListener {

    private final PrintStream out;
    private final long every;
    private String metric;

    /** Prints to {@code out} every {@code every} steps. */
    public LineProgress(PrintStream out, long every) {
        this.out = out;
        this.every = every;
    }

    @Override
    public void onStart(TrainingStart start) {
        out.println(ProgressText.start(start));
    }

    @Override
    public void onStep(StepReport r) {
        if (r.step() == 1 || r.step() % every == 0 || r.step() == r.totalSteps() || !Double.isFinite(r.loss())) {
            long percent = r.totalSteps() == 0 ? 100 : 100 * r.step() / r.totalSteps();
            out.println(String.format(Locale.ROOT, "step %d/%d %s %3d%% | epoch %d | %s | ETA %s", r.step(),
                    r.totalSteps(), ProgressText.bar(r.step(), r.totalSteps(), 20), percent, r.epoch(),
                    ProgressText.metrics(r), ProgressText.duration(r.secondsRemaining())));
        }
    }

    @Override
    public void onEvaluation(EvaluationReport e) {
        metric = e.metric();
        out.println("eval after step " + e.step() + ": " + ProgressText.evaluation(e));
    }

    @Override
    public void onFinish(TrainingEnd end) {
        out.println(ProgressText.end(end, metric));
    }
}
