package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.samples.tiny.TinyLm;
import java.util.List;
import java.util.Set;

/** Door (c): no agent in this JVM (surefire); {@code Lora.inject(model)} attaches the adapters. */
class InjectDoorTest extends FrontDoorContract {

    @Override
    String door() {
        return "Lora.inject, no agent";
    }

    @Override
    boolean adaptsAtConstruction() {
        return false;
    }

    @Override
    Set<String> transformedClasses() {
        return Set.of();
    }

    @Override
    void assertThisIsTheDoor() {
        assertFalse(startedWithJavaagent(), "no -javaagent in this JVM");
        assertTrue(LoraAgent.installation().isEmpty(), "no agent installed");
        TinyLm model = newModel();
        assertEquals(List.of(), adaptedPaths(model), "no adapters before inject");
        Lora.inject(model);
        assertEquals(ADAPTED, adaptedPaths(model), "adapters after inject");
    }
}
