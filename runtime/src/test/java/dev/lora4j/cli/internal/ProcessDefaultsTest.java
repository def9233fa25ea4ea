package dev.lora4j.cli.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ProcessDefaultsTest {

    private String saved;

    @BeforeEach
    void save() {
        saved = System.getProperty(ProcessDefaults.MAX_PHYSICAL_BYTES);
    }

    @AfterEach
    void restore() {
        if (saved == null) {
            System.clearProperty(ProcessDefaults.MAX_PHYSICAL_BYTES);
        } else {
            System.setProperty(ProcessDefaults.MAX_PHYSICAL_BYTES, saved);
        }
    }

    @Test
    void turnsTheResidentMemoryCheckOffWhenUnset() {
        System.clearProperty(ProcessDefaults.MAX_PHYSICAL_BYTES);
        ProcessDefaults.apply();
        assertEquals("0", System.getProperty(ProcessDefaults.MAX_PHYSICAL_BYTES));
    }

    @Test
    void keepsTheUsersValue() {
        System.setProperty(ProcessDefaults.MAX_PHYSICAL_BYTES, "8g");
        ProcessDefaults.apply();
        assertEquals("8g", System.getProperty(ProcessDefaults.MAX_PHYSICAL_BYTES));
    }

    /** In a fresh JVM, as the command line runs it: JavaCPP, loaded after, has no resident-memory limit. */
    @Test
    void javaCppLoadedAfterwardsSkipsTheCheck() throws Exception {
        assertEquals("0", probe(List.of()));
        assertEquals("123456789", probe(List.of("-D" + ProcessDefaults.MAX_PHYSICAL_BYTES + "=123456789")),
                "a value given on the command line is kept");
    }

    private static String probe(List<String> options) throws Exception {
        List<String> command = new java.util.ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx64m");
        command.addAll(options);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Probe.class.getName()));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the probe JVM did not end");
        assertEquals(0, process.exitValue(), output);
        return output.lines().reduce((first, second) -> second).orElse("");
    }

    /** Applies the defaults, then loads JavaCPP and prints its limit. */
    public static final class Probe {
        public static void main(String[] args) {
            ProcessDefaults.apply();
            System.out.println(Pointer.maxPhysicalBytes());
        }
    }
}
