package dev.lora4j.it.bench;

import dev.lora4j.Lora;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.cli.internal.ProcessDefaults;
import dev.lora4j.samples.tiny.TinyLm;
import java.lang.management.ManagementFactory;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Child-JVM main of the start-up benchmark: builds a TinyLm (adapted by the agent when one runs,
 * else through {@code Lora.inject}), runs one forward pass, and prints the milliseconds from JVM
 * start to the end of that first forward.
 */
public final class FirstForward {

    private FirstForward() {}

    /** Prints {@code first-forward-ms <n>}. */
    public static void main(String[] args) {
        ProcessDefaults.apply(); // as the command line runs the main job, before ND4J loads
        TinyLm model = new TinyLm(64, 64, 4, 2, 32);
        if (LoraAgent.installation().isPresent()) {
            Lora.adopt(model);
        } else {
            Lora.inject(model);
        }
        model.forward(Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.INT32, 1, 8));
        long elapsed = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
        System.out.println("first-forward-ms " + elapsed);
    }
}
