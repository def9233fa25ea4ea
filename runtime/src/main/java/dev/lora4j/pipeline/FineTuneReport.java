package dev.lora4j.pipeline;

import dev.lora4j.train.TrainingResult;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a {@link FineTuneRunner} run measured.
 *
 * @param job the job's name
 * @param options the options it ran with
 * @param adaptersBy how the adapters were put on: {@code agent} (the model's {@code @LoRA} fields),
 *     {@code LoraConfig}, or {@code none} (head alone, full fine-tuning)
 * @param trainable trainable parameters
 * @param total all parameters, adapters included
 * @param training the training history (steps, losses, evaluations, best step, why it stopped)
 * @param testAccuracy accuracy on the test split (adapters unmerged)
 * @param testLogits the unmerged test logits, rows in the order of the test batches
 * @param merge the merge check, or {@code null} when no adapter was trained
 * @param trainingTime wall time of training, validation included
 * @param totalTime wall time of the whole run, loading included
 * @param adapterDir the saved PEFT adapter directory, or {@code null}
 * @param curve the PNG of the loss and accuracy curves, or {@code null}
 * @param details further job-specific lines for the table, by name, in order
 */
public record FineTuneReport(String job, FineTuneOptions options, String adaptersBy, long trainable, long total,
        TrainingResult training, double testAccuracy, INDArray testLogits, @Nullable MergeCheck merge,
        Duration trainingTime, Duration totalTime, @Nullable Path adapterDir, @Nullable Path curve,
        Map<String, String> details) {

    /** Copies the details. */
    public FineTuneReport {
        Objects.requireNonNull(job, "job");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(training, "training");
        details = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(details));
    }

    /**
     * Merged against unmerged, on the test split.
     *
     * @param mergedTestAccuracy test accuracy with the adapters merged into the weights
     * @param agreement share of test examples whose predicted class is the same merged and unmerged
     * @param maxAbsLogitDiff the largest logit difference between merged and unmerged
     * @param checkpointMaxAbsLogitDiff the largest logit difference between the adapted model and a
     *     model loaded from the pretrained checkpoint merged without a model ({@link
     *     FineTuneJob#checkpoint}); {@code NaN} when the job has no checkpoint or saved no adapter
     */
    public record MergeCheck(double mergedTestAccuracy, double agreement, double maxAbsLogitDiff,
            double checkpointMaxAbsLogitDiff) {}

    /** The best value of the monitored validation metric (the weights kept). */
    public double bestValidationMetric() {
        return training.bestMetric();
    }

    /** Optimizer and gradient memory of the trainable parameters: AdamW's two moments and a gradient, float32. */
    public long optimizerAndGradientBytes() {
        return trainable * 4 * 3;
    }

    /** The report as a two-column Markdown table (no cell holds a {@code |}). */
    public String table() {
        StringBuilder b = new StringBuilder();
        String nl = System.lineSeparator();
        b.append("| ").append(job).append(": ").append(options.describe()).append(" | |").append(nl)
                .append("|---|---|").append(nl);
        row(b, "trainable parameters", String.format(Locale.ROOT, "%,d of %,d (%.2f%%)", trainable, total,
                100.0 * trainable / total));
        row(b, "optimizer + gradient memory", bytes(optimizerAndGradientBytes()));
        row(b, "adapters put on by", adaptersBy);
        row(b, "steps", training.steps() + " (" + training.stopReason() + ", best at step " + training.bestStep() + ")");
        row(b, "best " + training.monitor(), String.format(Locale.ROOT, "%.4f", training.bestMetric()));
        row(b, "test accuracy", String.format(Locale.ROOT, "%.4f", testAccuracy));
        if (merge != null) {
            row(b, "test accuracy, merged", String.format(Locale.ROOT, "%.4f", merge.mergedTestAccuracy()));
            row(b, "merged = unmerged predictions", String.format(Locale.ROOT, "%.2f%% (largest logit difference %.2e)",
                    100 * merge.agreement(), merge.maxAbsLogitDiff()));
            if (!Double.isNaN(merge.checkpointMaxAbsLogitDiff())) {
                row(b, "model-free merged checkpoint vs adapted model",
                        String.format(Locale.ROOT, "largest logit difference %.2e", merge.checkpointMaxAbsLogitDiff()));
            }
        }
        details.forEach((name, value) -> row(b, name, value));
        row(b, "training time", duration(trainingTime));
        row(b, "whole run", duration(totalTime));
        if (adapterDir != null) {
            row(b, "adapter (PEFT layout)", adapterDir.toString());
        }
        if (curve != null) {
            row(b, "curves", curve.toString());
        }
        return b.toString();
    }

    /**
     * Several runs of one job side by side (e.g. a {@linkplain FineTuneVariant sweep}), one row
     * each: what trained, trainable parameters, test accuracy, steps, training time, the merge check.
     */
    public static String comparison(List<FineTuneReport> reports) {
        StringBuilder b = new StringBuilder();
        String nl = System.lineSeparator();
        b.append("| setting | trainable params | test accuracy | best validation | steps | training time |"
                + " merged vs unmerged |").append(nl).append("|---|---:|---:|---:|---:|---:|---|").append(nl);
        for (FineTuneReport r : reports) {
            b.append(String.format(Locale.ROOT, "| %s | %,d of %,d (%.2f%%) | %.4f | %.4f | %d | %s | %s |%n",
                    r.options().describe(), r.trainable(), r.total(), 100.0 * r.trainable() / r.total(),
                    r.testAccuracy(), r.bestValidationMetric(), r.training().steps(), duration(r.trainingTime()),
                    r.merge() == null ? "—" : String.format(Locale.ROOT, "%.2f%% same, largest difference %.1e",
                            100 * r.merge().agreement(), r.merge().maxAbsLogitDiff())));
        }
        return b.toString();
    }

    private static void row(StringBuilder b, String name, String value) {
        b.append("| ").append(name).append(" | ").append(value).append(" |").append(System.lineSeparator());
    }

    /** {@code 891.1 KiB}, {@code 258.3 MiB}. */
    public static String bytes(long bytes) {
        return bytes >= 1 << 20 ? String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0)
                : String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }

    /** {@code 4m 05s}, {@code 42s}. */
    public static String duration(Duration d) {
        long s = Math.round(d.toMillis() / 1000.0);
        return s >= 60 ? String.format(Locale.ROOT, "%dm %02ds", s / 60, s % 60) : s + "s";
    }
}
