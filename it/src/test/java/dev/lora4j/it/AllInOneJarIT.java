package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.samples.tiny.TinyLmDemo;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * The shaded {@code lora4j-runtime-<version>-all.jar} on its own: as {@code -javaagent:} with only
 * the samples jar on the classpath, in a child JVM, printing nothing but the demo's own lines (its
 * SLF4J provider keeps ND4J's start-up info quiet, and SLF4J has no "no provider" notice to give);
 * and its contents (linux-x86_64 natives only, no signature files).
 */
class AllInOneJarIT {

    private static final Path ALL = Path.of(System.getProperty("lora4j.all.jar"));
    private static final Path SAMPLES = Path.of(System.getProperty("lora4j.samples.jar"));

    @Test
    void theAllInOneJarIsAnAgentThatNeedsNothingElse() throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process process = new ProcessBuilder(java.toString(), "-Xmx1g", "-javaagent:" + ALL, "-cp", SAMPLES.toString(),
                TinyLmDemo.class.getName())
                .redirectErrorStream(true)
                .start();
        String output;
        try (var in = process.getInputStream()) {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(process.waitFor(2, TimeUnit.MINUTES), "the demo finishes");
        assertEquals(0, process.exitValue(), output);
        assertTrue(output.contains("adapters attached by the agent (lora4j agent (PREMAIN"), output);
        assertTrue(output.contains("step 20"), output);
        List<String> logging = output.lines()
                .filter(line -> line.startsWith("SLF4J") || line.contains(" INFO org.nd4j")).toList();
        assertEquals(List.of(), logging, "SLF4J's no-provider notice or ND4J's start-up info");
    }

    @Test
    void theAllInOneJarHoldsLinuxNativesOnlyAndNoSignatures() throws IOException {
        try (JarFile jar = new JarFile(ALL.toFile())) {
            List<String> names = jar.stream().map(e -> e.getName()).toList();
            assertTrue(names.stream().anyMatch(n -> n.endsWith("linux-x86_64/libnd4jcpu.so")), "ND4J's natives");
            List<String> foreign = names.stream()
                    .filter(n -> n.endsWith(".dll") || n.endsWith(".dylib") || n.endsWith(".jnilib")
                            || (n.endsWith(".so") && !n.contains("linux-x86_64/") && !n.contains("linux-x86-64/")
                                    && !n.contains("Linux/x86_64/")))
                    .toList();
            assertEquals(List.of(), foreign, "natives for other platforms");
            List<String> signatures = names.stream()
                    .filter(n -> n.startsWith("META-INF/") && n.indexOf('/', 9) < 0
                            && (n.endsWith(".SF") || n.endsWith(".RSA") || n.endsWith(".DSA") || n.endsWith(".EC")))
                    .toList();
            assertEquals(List.of(), signatures);
            assertTrue(names.contains("dev/lora4j/spark/SparkTrainer.class"), "lora4j's Spark support");
            assertEquals(List.of(), names.stream().filter(n -> n.startsWith("org/apache/spark/")
                    || n.startsWith("org/apache/hadoop/") || n.startsWith("scala/")).limit(3).toList(),
                    "Spark is provided by the application, not carried by the -all jar");
            assertEquals("dev.lora4j.agent.LoraAgent", jar.getManifest().getMainAttributes().getValue("Premain-Class"));
            assertEquals("dev.lora4j.cli.Main", jar.getManifest().getMainAttributes().getValue("Main-Class"),
                    "java -jar on the -all jar is the command-line tool");
        }
        long megabytes = ALL.toFile().length() / (1 << 20);
        System.out.println("[all-in-one jar] " + ALL + ": " + megabytes + " MiB");
        assertTrue(megabytes < 200, megabytes + " MiB");
        assertTrue(new File(SAMPLES.toString()).isFile());
    }
}
