package dev.lora4j.train.internal;

import dev.lora4j.api.TrainingListener;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress for logs (no terminal): a plain line at the first step, then whenever {@code interval}
 * has passed since the last one, at the last step and at any non-finite loss; one line per
 * evaluation and at start and end. Nothing is redrawn, so a CI log stays readable, and a slow run
 * never goes quiet for longer than the interval plus one step.
 */
public final class LineProgress implements TrainingListener {

    private final PrintStream out;
    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private long lastLine;
    private String metric;

    /** Prints to {@code out} at most every {@code interval}, timed by {@link System#nanoTime()}. */
    public LineProgress(PrintStream out, Duration interval) {
        this(out, interval, System::nanoTime);
    }

    /** Prints to {@code out} at most every {@code interval}, timed by {@code nanoTime}. */
    public LineProgress(PrintStream out, Duration interval, LongSupplier nanoTime) {
        this.out = out;
        this.intervalNanos = interval.toNanos();
        this.nanoTime = nanoTime;
    }

    @Override
    public void onStart(TrainingStart start) {
        out.println(ProgressText.start(start));
    }

    @Override
    public void onStep(StepReport r) {
        long now = nanoTime.getAsLong();
        if (r.step() == 1 || now - lastLine >= intervalNanos || r.step() == r.totalSteps() || !Double.isFinite(r.loss())) {
            lastLine = now;
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
