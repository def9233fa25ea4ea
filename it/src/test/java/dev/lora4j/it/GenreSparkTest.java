package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.pipeline.FineTuneMode;
import dev.lora4j.pipeline.FineTuneOptions;
import dev.lora4j.pipeline.FineTuneReport;
import dev.lora4j.pipeline.FineTuneRunner;
import dev.lora4j.samples.minilm.GenreFineTune;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MiniLM genre job, shortened (48 training sentences, 9 steps), trained through Apache Spark in
 * local mode ({@code --spark local[2]}: two barrier tasks) and in this JVM on two workers: the same
 * losses, the same trained adapter (test logits), and the same outputs. Runs in the genre-pipeline
 * surefire execution (it self-attaches the agent).
 */
class GenreSparkTest {

    /**
     * Tolerances: the two runs cut the same batches into the same shards, draw the same dropout
     * masks and sum the shards' gradients in the same order; what may differ is float32 rounding in
     * ND4J's kernels, which see a shard as a view of the batch in one run and as its own copy in
     * the other. 1e-5 on the losses and 1e-4 on the logits leave room for that and nothing more
     * (a changed shard or order moves the losses by 1e-3 or more after a few steps).
     */
    @Test
    void theJobThroughSparkTrainsWhatTwoInProcessWorkersTrain(@TempDir Path dir) throws Exception {
        FineTuneRunner runner = GenrePipelineTest.runner();
        FineTuneReport local = runner.run(new GenreFineTune(), settings(dir.resolve("workers")).build(), System.out);
        FineTuneReport spark = runner.run(new GenreFineTune(),
                settings(dir.resolve("spark")).parameter(FineTuneOptions.SPARK, "local[2]").build(), System.out);

        assertEquals(2, spark.training().workers(), "two Spark tasks");
        List<Double> expected = local.training().losses();
        List<Double> actual = spark.training().losses();
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), actual.get(i), 1e-5, "loss of step " + (i + 1));
        }
        assertEquals(local.training().bestStep(), spark.training().bestStep());
        double logitDiff = local.testLogits().sub(spark.testLogits()).amaxNumber().doubleValue();
        System.out.println("GenreSparkTest: max |test logit difference| " + logitDiff + ", max |loss difference| "
                + maxDifference(expected, actual));
        assertTrue(logitDiff <= 1e-4, "max |test logit difference| " + logitDiff);
        assertEquals(1.0, spark.merge().agreement(), "merged and unmerged predict the same classes");
        assertTrue(Files.exists(spark.adapterDir().resolve("adapter_model.safetensors")));
        assertTrue(Files.exists(spark.curve()), "task 0 fed the driver's history in local mode: the curve");
    }

    private static FineTuneOptions.Builder settings(Path dir) {
        return new FineTuneOptions(FineTuneMode.LORA, 8, 16, List.of("query", "value"), true, 3, Long.MAX_VALUE,
                16, 3e-3, 1, 2, 7, dir, new GenreFineTune.Parameters(32, 10, 8, 2).asMap()).toBuilder();
    }

    private static double maxDifference(List<Double> a, List<Double> b) {
        double max = 0;
        for (int i = 0; i < a.size(); i++) {
            max = Math.max(max, Math.abs(a.get(i) - b.get(i)));
        }
        return max;
    }
}
