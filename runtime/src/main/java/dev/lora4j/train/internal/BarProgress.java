package dev.lora4j.train.internal;

import dev.lora4j.api.TrainingListener;
import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress for a terminal: one bar redrawn in place by the {@code progressbar} library (step/total,
 * percentage, elapsed time and ETA), with the loss, examples/s and the last evaluation as its extra
 * message.
 */
public final class BarProgress implements TrainingListener {

    private final PrintStream out;
    private ProgressBar bar;
    private String lastEvaluation = "";
    private String metric;

    /** Draws on {@code out}. */
    public BarProgress(PrintStream out) {
        this.out = out;
    }

    @Override
    public void onStart(TrainingStart start) {
        close();
        out.println(ProgressText.start(start));
        lastEvaluation = "";
        bar = new ProgressBarBuilder()
                .setTaskName("train")
                .setInitialMax(start.totalSteps())
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(200)
                .setConsumer(new ConsoleProgressBarConsumer(out))
                .build();
    }

    @Override
    public void onStep(StepReport r) {
        if (bar != null) {
            bar.stepTo(r.step());
            bar.setExtraMessage(ProgressText.metrics(r) + lastEvaluation);
        }
    }

    @Override
    public void onEvaluation(EvaluationReport e) {
        metric = e.metric();
        lastEvaluation = " | " + ProgressText.evaluation(e);
    }

    @Override
    public void onFinish(TrainingEnd end) {
        close();
        out.println(ProgressText.end(end, metric));
    }

    private void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
