package dev.lora4j.samples.vision;

import dev.lora4j.NativeThreads;
import dev.lora4j.api.TrainingListener;
import dev.lora4j.pipeline.FineTuneJob;
import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.pipeline.FineTuneReport;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The vision sample as a {@link FineTuneJob}: {@code lora4j finetune --model fashion-cnn}. A
 * {@link SmallCnn} pretrained on Fashion-MNIST classes 0–4 (trained on the first run, then reused
 * from the output directory) is adapted to classes 5–9 as the options say: LoRA on the
 * convolutions (default r = 4, alpha = 8 on conv1–3) plus a new head, the head alone, or every
 * weight. See {@link VisionFineTune#adapt} for the steps.
 */
public final class FashionCnnJob implements FineTuneJob {

    /** The job's name. */
    public static final String NAME = "fashion-cnn";
    /** Parameter: pretraining steps on classes 0–4. */
    public static final String PRETRAIN_STEPS = "pretrain-steps";

    private static final int DEFAULT_PRETRAIN_STEPS = 500;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "a small CNN pretrained on Fashion-MNIST classes 0-4, adapted to classes 5-9";
    }

    @Override
    public FineTuneOptions defaults(FineTuneMode mode) {
        return defaultsFor(mode);
    }

    /**
     * The defaults: 300 steps of 64 images (at most 10 epochs), AdamW at 1e-2 for LoRA and the
     * head, 3e-3 for full fine-tuning, LoRA r = 4, alpha = 8 on conv1, conv2 and conv3, one thread,
     * seed 7, output in {@code target/fashion-cnn}.
     */
    static FineTuneOptions defaultsFor(FineTuneMode mode) {
        return new FineTuneOptions(mode, 4, 8, List.of("conv1", "conv2", "conv3"), false, 10, 300, 64,
                mode == FineTuneMode.FULL ? 3e-3 : 1e-2, 1, 0, 7, Path.of("target", "fashion-cnn"), Map.of());
    }

    @Override
    public Map<String, String> parameters() {
        return Map.of(PRETRAIN_STEPS, "pretraining steps on classes 0-4 (default " + DEFAULT_PRETRAIN_STEPS
                + "; an existing checkpoint made with the same steps, batch and seed is reused)");
    }

    @Override
    public FineTuneReport run(FineTuneOptions options, TrainingListener progress, PrintStream out) throws IOException {
        long start = System.nanoTime();
        int pretrainSteps = options.intParameter(PRETRAIN_STEPS, DEFAULT_PRETRAIN_STEPS);
        if (pretrainSteps < 1) {
            throw new IllegalArgumentException("parameter " + PRETRAIN_STEPS + " must be at least 1, got " + pretrainSteps);
        }
        NativeThreads.limit(options.threads());
        Path dir = options.outputDir() != null ? options.outputDir() : Files.createTempDirectory("lora4j-fashion-cnn");
        FashionTasks data = FashionTasks.load();
        VisionFineTune.Pretrained pretrained = VisionFineTune.pretrain(data, pretrainSteps, options.batchSize(),
                options.seed(), dir, out);
        out.print("== 2. ");
        VisionFineTune.Outcome o = VisionFineTune.adapt(options, data, pretrained.checkpoint(), progress, out);
        FineTuneReport.MergeCheck merge = Double.isNaN(o.mergeMaxAbsDiff()) ? null
                : new FineTuneReport.MergeCheck(o.mergedTestAccuracy(), o.mergeAgreement(), o.mergeMaxAbsDiff());
        Map<String, String> details = new LinkedHashMap<>();
        details.put("pretrained on classes 0-4", String.format(Locale.ROOT, "test accuracy %.4f%s",
                pretrained.testAccuracy(), pretrained.reused() ? " (checkpoint reused)" : ""));
        details.put("pretrained checkpoint", pretrained.checkpoint().toString());
        if (!Double.isNaN(o.checkpointMergeMaxAbsDiff())) {
            details.put("model-free merged checkpoint vs adapted model",
                    String.format(Locale.ROOT, "max |logit diff| %.2e", o.checkpointMergeMaxAbsDiff()));
        }
        return new FineTuneReport(NAME, options, o.trainable(), o.total(), o.steps(),
                o.training().stopReason() + ", best at step " + o.training().bestStep(), o.training().bestMetric(),
                o.testAccuracy(), merge, Duration.ofNanos((long) (o.trainSeconds() * 1e9)),
                Duration.ofNanos(System.nanoTime() - start), o.adapterDir(), o.curve(), details);
    }
}
