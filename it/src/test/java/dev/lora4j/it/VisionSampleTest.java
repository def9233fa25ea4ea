package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.autograd.Tensor;
import dev.lora4j.cli.Main;
import dev.lora4j.guice.Lora4j;
import dev.lora4j.io.AdapterFiles;
import dev.lora4j.io.ModelCheckpoint;
import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.TensorInfo;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.pipeline.FineTuneReport;
import dev.lora4j.pipeline.FineTuneRunner;
import dev.lora4j.pipeline.FineTuneVariant;
import dev.lora4j.samples.vision.FashionCnnJob;
import dev.lora4j.samples.vision.FashionData;
import dev.lora4j.samples.vision.SmallCnn;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine;

/**
 * The vision sample in a few steps: pretrain, checkpoint, adapt with LoRA on the convolutions and
 * with a frozen backbone; the saved conv adapter has PEFT's names and shapes, merged equals
 * unmerged, the model-free merged checkpoint equals the adapted model, and the adapter loads back
 * onto the pretrained checkpoint with the same outputs.
 */
class VisionSampleTest {

    @TempDir
    Path out;

    @Test
    void fewStepsOfTheVisionPipeline() throws Exception {
        FashionCnnJob job = new FashionCnnJob();
        FineTuneOptions base = job.defaults(FineTuneMode.LORA).toBuilder().maxSteps(6)
                .parameter(FashionCnnJob.PRETRAIN_STEPS, "8")
                .parameter(FashionCnnJob.PRETRAINED_DIR, out.resolve("pretrained").toString()).outputDir(out).build();
        FineTuneRunner runner = Lora4j.injector().getInstance(FineTuneRunner.class);
        FineTuneReport head = runner.run(job, FineTuneVariant.parse("head").apply(base, job), System.out);
        FineTuneReport lora = runner.run(job, FineTuneVariant.parse("lora2").apply(base, job), System.out);

        Path checkpoint = Path.of(head.details().get("pretrained checkpoint"));
        assertTrue(Files.isRegularFile(checkpoint));
        assertEquals(checkpoint.toString(), lora.details().get("pretrained checkpoint"), "one pretraining, reused");
        double pretrained = Double.parseDouble(head.details().get("pretrained on classes 0-4").split(" ")[2]);
        assertTrue(pretrained > 0.3, "8 steps beat chance (0.2): " + pretrained);
        assertEquals(5 * 64 + 5, head.trainable(), "only the new head trains");
        // Σ r·(in·kh·kw + out) over conv1-3, plus the head (modules_to_save)
        assertEquals(2 * (1 * 9 + 16) + 2 * (16 * 9 + 32) + 2 * (32 * 9 + 64) + 5 * 64 + 5, lora.trainable());
        assertEquals(4.0, lora.options().alpha(), "alpha = 2r, as the defaults have it");
        assertTrue(lora.merge().maxAbsLogitDiff() < 1e-5, "merged vs unmerged " + lora.merge().maxAbsLogitDiff());
        assertTrue(lora.merge().checkpointMaxAbsLogitDiff() < 1e-5,
                "merged checkpoint " + lora.merge().checkpointMaxAbsLogitDiff());

        String p = "base_model.model.";
        Map<String, List<Long>> expected = new LinkedHashMap<>();
        expected.put(p + "conv1.lora_A.weight", List.of(2L, 1L, 3L, 3L));
        expected.put(p + "conv1.lora_B.weight", List.of(16L, 2L, 1L, 1L));
        expected.put(p + "conv2.lora_A.weight", List.of(2L, 16L, 3L, 3L));
        expected.put(p + "conv2.lora_B.weight", List.of(32L, 2L, 1L, 1L));
        expected.put(p + "conv3.lora_A.weight", List.of(2L, 32L, 3L, 3L));
        expected.put(p + "conv3.lora_B.weight", List.of(64L, 2L, 1L, 1L));
        expected.put(p + "head.bias", List.of(5L));
        expected.put(p + "head.weight", List.of(5L, 64L));
        Map<String, List<Long>> saved = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(lora.adapterDir().resolve(AdapterFiles.WEIGHTS_FILE))) {
            for (TensorInfo t : f.tensors()) {
                saved.put(t.name(), Arrays.stream(t.shape()).boxed().toList());
            }
        }
        assertEquals(expected, saved);
        assertTrue(Files.readString(lora.adapterDir().resolve("adapter_config.json")).contains("\"conv3\""));

        // the adapter on the pretrained checkpoint = the merged checkpoint
        SmallCnn reloaded = new SmallCnn(5);
        ModelCheckpoint.load(reloaded, checkpoint);
        LoraModel<SmallCnn> adapted = Lora.load(reloaded, lora.adapterDir());
        assertEquals(List.of("conv1", "conv2", "conv3"), List.copyOf(adapted.layers().keySet()));
        SmallCnn merged = new SmallCnn(5);
        ModelCheckpoint.load(merged, out.resolve("lora2").resolve(FineTuneRunner.MERGED_CHECKPOINT));
        FashionData.Batch probe = FashionData.batch(FashionData.task(FashionData.load("test"), 5, 5), 0, 200);
        double diff = logits(reloaded, probe).sub(logits(merged, probe)).amaxNumber().doubleValue();
        assertTrue(diff < 1e-5, "loaded adapter vs merged checkpoint max abs diff " + diff);
        for (FineTuneReport r : List.of(head, lora)) {
            assertTrue(Files.size(r.curve()) > 1000, "a curve PNG for " + r.options().describe());
        }
        assertEquals(1.0, lora.merge().agreement(), "merged and unmerged predict the same classes");
    }

    @Test
    void theSameJobThroughTheFinetuneCommandChosenByItsModelOption() throws Exception {
        String[] args = {"finetune", "--model", "fashion-cnn", "--rank", "2", "--targets", "conv2,conv3",
            "--max-steps", "6", "--output", out.toString(), "--param", "pretrain-steps=8",
            "--param", "pretrained-dir=" + out.resolve("pretrained")};
        StringWriter stdout = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(stdout, true));
        assertEquals(0, cli.execute(args), stdout.toString());
        String text = stdout.toString();
        assertTrue(text.contains("| fashion-cnn: LoRA r=2 alpha=8 on conv2/conv3 + head | |"), text);
        assertTrue(text.contains("merged = unmerged predictions | 100.00%"), text);
        assertTrue(Files.size(out.resolve("curve.png")) > 1000, "the curve PNG");
        assertTrue(text.contains("model-free merged checkpoint vs adapted model"), text);
        PeftAdapterConfig config = PeftAdapterConfig.read(out.resolve("adapter").resolve(PeftAdapterConfig.FILE_NAME));
        assertEquals(List.of("conv2", "conv3"), config.targetModules().orElseThrow().names());
        assertEquals(List.of("head"), config.modulesToSave());

        StringWriter again = new StringWriter();
        CommandLine second = Main.commandLine();
        second.setOut(new PrintWriter(again, true));
        assertEquals(0, second.execute("finetune", "--model", "fashion-cnn", "--mode", "head", "--max-steps", "4",
                "--output", out.resolve("head").toString(), "--param", "pretrain-steps=8",
                "--param", "pretrained-dir=" + out.resolve("pretrained")));
        assertTrue(again.toString().contains("pretrained checkpoint reused"), again.toString());
        assertTrue(again.toString().contains("| fashion-cnn: frozen network + trained head | |"), again.toString());
        assertTrue(Files.size(out.resolve("head").resolve("curve.png")) > 1000);
    }

    private static INDArray logits(SmallCnn model, FashionData.Batch batch) {
        model.eval();
        try (GradMode.Scope ignored = GradMode.disable()) {
            return model.forward(Tensor.constant(batch.images())).value().dup();
        }
    }
}
