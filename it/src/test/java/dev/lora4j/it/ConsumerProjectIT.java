package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.lora.LoraLayers;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The README's "Use it in your project" section, followed by a new user: a project outside this
 * build, whose {@code pom.xml} is the README's as written, with a {@code @LoRA} model, a {@code
 * main} and a JUnit test of its own, built by a child Maven against the artifacts this build just
 * packaged. The child sees lora4j only as installed artifacts (parent, api, processor and runtime
 * copied into a private local repository in Maven's layout) and everything else through a mirror
 * onto this build's own local repository, a {@code file:} URL: no network.
 *
 * <p>Shows that {@code mvn test} runs the test under the agent and that {@code exec:exec} runs
 * {@code main} under it (the agent reports {@code PREMAIN}, the annotated layer carries adapters,
 * the adapted model computes), and that the pom puts the processor on the compile: a model with a
 * bad {@code @LoRA} field then fails to build with the processor's error pinned to its line.
 */
class ConsumerProjectIT {

    private static final Path ROOT = Path.of(System.getProperty("lora4j.root"));
    private static final String VERSION = System.getProperty("lora4j.version");
    private static final Path MAVEN_HOME = Path.of(System.getProperty("lora4j.maven.home"));
    private static final Path BUILD_REPOSITORY = Path.of(System.getProperty("lora4j.maven.repo"));
    private static final Path WORK = ROOT.resolve("it/target/consumer");

    private static final String MODEL = """
            package com.example;

            import dev.lora4j.api.LoRA;
            import dev.lora4j.autograd.Tensor;
            import dev.lora4j.nn.Linear;
            import dev.lora4j.nn.Module;

            public class Classifier extends Module {
                @LoRA(rank = 4, alpha = 8)
                final Linear hidden = new Linear(8, 16);
                final Linear head = new Linear(16, 2);

                public Tensor forward(Tensor x) {
                    return head.forward(hidden.forward(x).relu());
                }
            }
            """;

    private static final String MAIN = """
            package com.example;

            import dev.lora4j.Lora;
            import dev.lora4j.agent.LoraAgent;
            import dev.lora4j.autograd.Tensor;
            import dev.lora4j.lora.LoraModel;
            import java.util.Arrays;
            import org.nd4j.linalg.api.buffer.DataType;
            import org.nd4j.linalg.factory.Nd4j;

            public class Main {
                public static void main(String[] args) {
                    Classifier model = new Classifier();
                    System.out.println("agent: " + LoraAgent.installation().map(Object::toString).orElse("none"));
                    LoraModel<Classifier> lora = Lora.adopt(model);
                    System.out.println("adapted layers: " + lora.layers().keySet());
                    System.out.println(lora.summary());
                    Tensor out = model.forward(Tensor.constant(Nd4j.rand(DataType.FLOAT, 3, 8)));
                    System.out.println("output shape: " + Arrays.toString(out.value().shape()));
                }
            }
            """;

    /** A model whose {@code @LoRA} field the processor rejects (line 7: rank 0). */
    private static final String BROKEN = """
            package com.example;

            import dev.lora4j.api.LoRA;
            import dev.lora4j.nn.Linear;

            public class Broken {
                @LoRA(rank = 0) Linear bad = new Linear(2, 2);
            }
            """;

    private static final String TEST = """
            package com.example;

            import static org.junit.jupiter.api.Assertions.assertNotNull;
            import static org.junit.jupiter.api.Assertions.assertNull;

            import dev.lora4j.lora.LoraLayers;
            import org.junit.jupiter.api.Test;

            class ClassifierTest {
                @Test
                void theAgentPutsAdaptersOnTheAnnotatedLayerOnly() {
                    Classifier model = new Classifier();
                    assertNotNull(LoraLayers.of(model.hidden), "hidden carries adapters");
                    assertNull(LoraLayers.of(model.head), "head stays plain");
                    System.out.println("consumer test ran under the agent");
                }
            }
            """;

    @Test
    void theReadmesPomBuildsAModelThroughTheProcessorAndRunsItUnderTheAgent() throws Exception {
        String pom = readmePom();
        assertTrue(pom.contains("<lora4j.version>" + VERSION + "</lora4j.version>"),
                "the README's pom.xml names the version this build makes, " + VERSION);

        Path repository = WORK.resolve("repository");
        installThisBuild(repository);
        Path settings = WORK.resolve("settings.xml");
        Files.writeString(settings, mirrorSettings(BUILD_REPOSITORY));

        Path project = WORK.resolve("my-model");
        deleteTree(project);
        write(project.resolve("pom.xml"), pom);
        write(project.resolve("src/main/java/com/example/Classifier.java"), MODEL);
        write(project.resolve("src/main/java/com/example/Main.java"), MAIN);
        write(project.resolve("src/test/java/com/example/ClassifierTest.java"), TEST);

        long start = System.nanoTime();
        String output = maven(project, settings, repository, "test", "exec:exec");
        System.out.printf("[consumer project] mvn test exec:exec took %.1f s%n", (System.nanoTime() - start) / 1e9);

        assertTrue(output.contains("consumer test ran under the agent"), output);
        assertTrue(output.contains("Tests run: 1, Failures: 0, Errors: 0, Skipped: 0"), output);
        assertTrue(output.contains("agent: lora4j agent (PREMAIN"), output);
        assertTrue(output.contains("adapted layers: [hidden]"), output);
        assertTrue(output.contains("output shape: [3, 2]"), output);

        write(project.resolve("src/main/java/com/example/Broken.java"), BROKEN);
        String failed = maven(project, settings, repository, 1, "-o", "compile");
        assertTrue(failed.contains("Broken.java:[7,") && failed.contains("@LoRA on com.example.Broken#bad: rank must be at least 1, got 0"),
                "the processor checked the model\n" + failed);
    }

    /** The first {@code xml} block of the README's "Use it in your project" section that is a whole pom. */
    private static String readmePom() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        int section = readme.indexOf("\n## Use it in your project\n");
        assertTrue(section >= 0, "README.md has a section 'Use it in your project'");
        int end = readme.indexOf("\n## ", section + 1);
        Matcher block = Pattern.compile("```xml\n(<project.*?)```", Pattern.DOTALL)
                .matcher(readme.substring(section, end < 0 ? readme.length() : end));
        assertTrue(block.find(), "the section shows a whole pom.xml in an xml block");
        return block.group(1);
    }

    /** Puts this build's parent pom and the api, processor and runtime jars into {@code repository}, as {@code mvn install} would. */
    private static void installThisBuild(Path repository) throws IOException {
        Path group = repository.resolve("dev/lora4j");
        deleteTree(group);
        install(group, "lora4j-parent", ROOT.resolve("pom.xml"), null);
        for (String module : List.of("api", "processor", "runtime")) {
            String artifact = "lora4j-" + module;
            Path jar = ROOT.resolve(module).resolve("target").resolve(artifact + "-" + VERSION + ".jar");
            assertTrue(Files.isRegularFile(jar), jar + " is built (run this test through mvn verify)");
            install(group, artifact, ROOT.resolve(module).resolve("pom.xml"), jar);
        }
    }

    private static void install(Path group, String artifact, Path pom, Path jar) throws IOException {
        Path dir = group.resolve(artifact).resolve(VERSION);
        Files.createDirectories(dir);
        Files.copy(pom, dir.resolve(artifact + "-" + VERSION + ".pom"), StandardCopyOption.REPLACE_EXISTING);
        if (jar != null) {
            Files.copy(jar, dir.resolve(artifact + "-" + VERSION + ".jar"), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Every repository Maven asks is served from {@code buildRepository}, through a {@code file:} URL. */
    private static String mirrorSettings(Path buildRepository) {
        return """
                <settings>
                  <mirrors>
                    <mirror>
                      <id>this-build</id>
                      <mirrorOf>*</mirrorOf>
                      <url>%s</url>
                    </mirror>
                  </mirrors>
                </settings>
                """.formatted(buildRepository.toUri());
    }

    private static String maven(Path project, Path settings, Path repository, String... goals)
            throws IOException, InterruptedException {
        return maven(project, settings, repository, 0, goals);
    }

    /** Runs the consumer's Maven with {@code goals} and checks that it exits with {@code expectedExit}. */
    private static String maven(Path project, Path settings, Path repository, int expectedExit, String... goals)
            throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of(MAVEN_HOME.resolve("bin/mvn").toString(), "-B", "-ntp",
                "-s", settings.toString(), "-Dmaven.repo.local=" + repository,
                // -U: look again for what an earlier run found missing (its misses are cached in the repository)
                "-U"));
        command.addAll(List.of(goals));
        ProcessBuilder builder = new ProcessBuilder(command).directory(project.toFile()).redirectErrorStream(true);
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        builder.environment().put("OMP_NUM_THREADS", "1");
        builder.environment().remove("MAVEN_OPTS");
        Process process = builder.start();
        String output;
        try (var in = process.getInputStream()) {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(process.waitFor(5, TimeUnit.MINUTES), "the consumer build finishes");
        assertEquals(expectedExit, process.exitValue(), "mvn " + String.join(" ", goals) + " in " + project + "\n" + output);
        return output;
    }

    private static void write(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.delete(path);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
