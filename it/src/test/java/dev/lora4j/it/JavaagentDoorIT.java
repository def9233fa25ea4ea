package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.agent.AgentInstallation;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.samples.tiny.CausalSelfAttention;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarFile;

/**
 * Door (a): this JVM starts with {@code -javaagent:lora4j-runtime-<version>.jar} (a failsafe
 * execution of its own; the jar path is in the system property {@code lora4j.agent.jar}).
 */
class JavaagentDoorIT extends FrontDoorContract {

    @Override
    String door() {
        return "-javaagent";
    }

    @Override
    boolean adaptsAtConstruction() {
        return true;
    }

    @Override
    Set<String> transformedClasses() {
        return LoraAgent.installation().orElseThrow().transformedClasses();
    }

    @Override
    void assertThisIsTheDoor() {
        String jar = System.getProperty("lora4j.agent.jar");
        assertNotNull(jar, "lora4j.agent.jar is set by the build");
        assertTrue(ManagementFactory.getRuntimeMXBean().getInputArguments().contains("-javaagent:" + jar),
                "started with -javaagent:" + jar);
        AgentInstallation installation = LoraAgent.installation().orElseThrow(() -> new AssertionError("premain ran"));
        assertEquals(AgentInstallation.Mode.PREMAIN, installation.mode());
        assertSame(installation, LoraAgent.install(), "installing again changes nothing");
        assertEquals(ADAPTED, adaptedPaths(newModel()), "the constructor was instrumented: adapters without inject");
        assertTrue(installation.transformedClasses().contains(CausalSelfAttention.class.getName()));
    }

    @org.junit.jupiter.api.Test
    void theRuntimeJarDeclaresItselfAnAgent() throws IOException {
        try (JarFile jar = new JarFile(System.getProperty("lora4j.agent.jar"))) {
            Attributes manifest = jar.getManifest().getMainAttributes();
            assertEquals(LoraAgent.class.getName(), manifest.getValue("Premain-Class"));
            assertEquals(LoraAgent.class.getName(), manifest.getValue("Agent-Class"));
            assertEquals("true", manifest.getValue("Can-Retransform-Classes"));
            assertEquals("true", manifest.getValue("Can-Redefine-Classes"));
            assertNull(manifest.getValue("Main-Class"),
                    "the thin jar cannot run on its own (picocli, ND4J are not inside): the -all jar is the tool");
        }
    }
}
