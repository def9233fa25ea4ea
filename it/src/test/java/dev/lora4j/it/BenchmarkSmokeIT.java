package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.it.bench.AgentOverhead;
import dev.lora4j.it.bench.Benchmarks;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The benchmark suite in its smoke mode: it runs end to end and writes its result file (no timing assertions). */
class BenchmarkSmokeIT {

    @Test
    void theAgentBenchmarkComparesTwoModelsThatComputeTheSameThing() {
        assertTrue(dev.lora4j.agent.LoraAgent.installation().isPresent(), "runs in the -javaagent JVM");
        assertEquals(0.0, new AgentOverhead().maxOutputDifference(), "same weights, same logits");
    }

    @Test
    void theSuiteRunsAndWritesItsResults() throws Exception {
        Benchmarks.main(new String[] {"--smoke"});
        String results = Files.readString(Path.of("target", "benchmarks", "results.json"), StandardCharsets.UTF_8);
        for (String row : new String[] {"gemm_ceiling_gflops", "LoRA train step", "unmerged LoRA forward",
                "merged LoRA forward", "agent-instrumented forward",
                "JVM start to first forward", "merge tool", "MiniLM LoRA training", "\"mfu\"",
                "real_tokens_per_s", "1 ND4J/BLAS thread / 2 threads", "dropout forward", "load_average"}) {
            assertTrue(results.contains(row), row + " in " + results);
        }
        assertTrue(results.contains("\"lora4j_over_torch\"") || results.contains("\"torch_skipped\""),
                "the PyTorch peer's row, or why it was skipped, in " + results);
    }
}
