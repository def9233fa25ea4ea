package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.agent.LoraAgent;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.it.bench.AgentOverhead;
import dev.lora4j.it.bench.SideBySide;
import org.junit.jupiter.api.Test;

/**
 * The agent's cost on the forward pass, measured in the {@code -javaagent} JVM: a TinyLm whose
 * adapters the agent attached at construction against a hand-built copy with the same weights.
 * In CI this is a smoke run (few rounds, no timing assertion); {@code -Dlora4j.bench.rounds=200}
 * gives the figure reported in BENCHMARKS.md.
 */
class AgentOverheadBenchIT {

    @Test
    void instrumentedForwardCostsWhatAHandBuiltLoraModelCosts() throws Exception {
        assertTrue(LoraAgent.installation().isPresent(), "runs in the -javaagent JVM");
        int rounds = Integer.getInteger("lora4j.bench.rounds", 10);
        AgentOverhead benchmark = new AgentOverhead();
        assertEquals(0.0, benchmark.maxOutputDifference(), "same weights, same outputs");
        SideBySide.Result result;
        try (GradMode.Scope ignored = GradMode.disable()) {
            result = benchmark.run(rounds);
        }
        System.out.println(result.line());
        assertTrue(Double.isFinite(result.medianRatio()) && result.medianRatio() > 0, result.line());
        benchmark.write(result);
    }
}
