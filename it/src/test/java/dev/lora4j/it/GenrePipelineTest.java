package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.guice.Lora4j;
import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.pipeline.FineTuneReport;
import dev.lora4j.pipeline.FineTuneRunner;
import dev.lora4j.samples.minilm.GenreData;
import dev.lora4j.samples.minilm.GenreFineTune;
import dev.lora4j.samples.minilm.MiniLm;
import dev.lora4j.samples.minilm.MiniLmClassifier;
import dev.lora4j.train.ConsoleProgress;
import dev.lora4j.train.Inference;
import dev.lora4j.train.TrainingConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The MiniLM genre job, shortened (48 training sentences, 9 steps), through the same door as the
 * real run: the agent self-attached, @LoRA adapters at construction. Runs in a surefire execution
 * of its own, because it installs the agent.
 */
class GenrePipelineTest {

    @Test
    void aShortRunLearnsMergesAndItsSavedAdapterReloadsToTheSamePredictions(@TempDir Path dir) throws Exception {
        GenreFineTune.Parameters parameters = new GenreFineTune.Parameters(32, 10, 8, 2);
        FineTuneOptions settings = new FineTuneOptions(FineTuneMode.LORA, 8, 16, List.of("query", "value"), true, 3,
                Long.MAX_VALUE, 16, 3e-3, 1, 2, 7, dir, parameters.asMap());

        FineTuneReport results = runner().run(new GenreFineTune(), settings, System.out);

        assertEquals("agent", results.adaptersBy());
        assertTrue(LoraAgent.installation().isPresent());
        assertEquals(6 * 2 * 2 * 8 * 384 + 384 * 6 + 6, results.trainable(), "r=8 on 12 projections + the head");
        List<Double> losses = results.training().losses();
        assertEquals(9, losses.size());
        double first = losses.subList(0, 3).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double last = losses.subList(6, 9).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        assertTrue(last < first - 0.05, "the training loss falls: first epoch " + first + ", last " + last);
        assertEquals(1.0, results.merge().agreement(), "merged and unmerged predict the same classes");
        assertTrue(results.merge().maxAbsLogitDiff() < 1e-4, "max |logit diff| " + results.merge().maxAbsLogitDiff());
        assertTrue(Files.size(results.curve()) > 1000, "the curve PNG");
        assertTrue(Files.exists(results.adapterDir().resolve("adapter_config.json")));

        // a fresh model: the agent puts fresh adapters on at construction; the saved ones replace their values
        MiniLmClassifier fresh = new MiniLmClassifier(MiniLm.pretrained(), GenreData.LABELS.size(), new Random(99));
        assertNotNull(fresh.encoder().childSlots());
        LoraModel<MiniLmClassifier> lora = Lora.load(fresh, results.adapterDir());
        assertEquals(12, lora.layers().size());
        assertEquals(List.of(LoraModel.DEFAULT_ADAPTER), List.copyOf(lora.adapterNames()), "loaded into the agent's default");
        assertEquals(List.of(MiniLmClassifier.HEAD), lora.modulesToSave(LoraModel.DEFAULT_ADAPTER), "the head from the file");
        List<GenreData.Batch> test = new GenreFineTune().data(settings).test(); // the batches the run evaluated
        INDArray reloaded = Nd4j.vstack(Inference.outputs(fresh, test,
                b -> fresh.forward(b.inputIds(), b.attentionMask()), TrainingConfig.AUTO_WORKERS).toArray(INDArray[]::new));
        assertArrayEquals(results.testLogits().argMax(1).toLongVector(), reloaded.argMax(1).toLongVector(),
                "identical predictions");
        double diff = Nd4j.math().abs(results.testLogits().sub(reloaded)).maxNumber().doubleValue();
        assertTrue(diff < 1e-6, "max |logit diff| after reloading: " + diff);
    }

    /** The pipeline with the progress as lines on stdout. */
    static FineTuneRunner runner() {
        return Lora4j.injector(binder -> binder.bind(ConsoleProgress.class).toInstance(
                new ConsoleProgress(ConsoleProgress.Mode.LINES, Duration.ZERO, System.out)))
                .getInstance(FineTuneRunner.class);
    }
}
