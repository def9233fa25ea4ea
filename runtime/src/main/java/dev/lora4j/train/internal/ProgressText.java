package dev.lora4j.train.internal;

import dev.lora4j.api.TrainingListener.EvaluationReport;
import dev.lora4j.api.TrainingListener.StepReport;
import dev.lora4j.api.TrainingListener.TrainingEnd;
import dev.lora4j.api.TrainingListener.TrainingStart;
import java.util.Locale;

/** The wording of progress output, shared by the bar and the line printer. */
public final class ProgressText {

    private ProgressText() {}

    /** "training 300 steps over 2 epochs; 1,234 of 56,789 parameters trainable (2.17%)". */
    public static String start(TrainingStart s) {
        double share = s.allParameters() == 0 ? 0 : 100.0 * s.trainableParameters() / s.allParameters();
        return String.format(Locale.ROOT, "training %d steps over %d epoch%s; %,d of %,d parameters trainable (%.2f%%)",
                s.totalSteps(), s.epochs(), s.epochs() == 1 ? "" : "s", s.trainableParameters(), s.allParameters(), share);
    }

    /** "loss 0.4321 | lr 2.00e-04 | 512.3 ex/s". */
    public static String metrics(StepReport r) {
        return String.format(Locale.ROOT, "loss %.4f | lr %.2e | %.1f ex/s", r.loss(), r.learningRate(),
                r.examplesPerSecond());
    }

    /** "val_loss 0.4000 (best)". */
    public static String evaluation(EvaluationReport e) {
        String text = String.format(Locale.ROOT, "%s %.4f", e.metric(), e.value());
        if (!"val_loss".equals(e.metric())) {
            text += String.format(Locale.ROOT, ", val_loss %.4f", e.validationLoss());
        }
        return text + (e.improved() ? " (best)" : "");
    }

    /** "done after 300 steps; best val_loss 0.3900 at step 250; stopped early". */
    public static String end(TrainingEnd e, String metric) {
        StringBuilder b = new StringBuilder("done after ").append(e.steps()).append(" steps");
        if (!Double.isNaN(e.bestMetric())) {
            b.append(String.format(Locale.ROOT, "; best %s %.4f at step %d", metric == null ? "metric" : metric,
                    e.bestMetric(), e.bestStep()));
        }
        if (e.stoppedEarly()) {
            b.append("; stopped early");
        }
        return b.toString();
    }

    /** "1:02:03", or "?" when unknown. */
    public static String duration(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) {
            return "?";
        }
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
    }

    /** A bar of {@code width} cells, e.g. "[=====>    ]". */
    public static String bar(long done, long total, int width) {
        int filled = total <= 0 ? 0 : (int) Math.min(width, width * done / total);
        StringBuilder b = new StringBuilder(width + 2).append('[');
        for (int i = 0; i < width; i++) {
            b.append(i < filled ? '=' : i == filled ? '>' : ' ');
        }
        return b.append(']').toString();
    }
}
