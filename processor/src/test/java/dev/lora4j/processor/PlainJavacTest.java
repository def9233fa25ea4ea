package dev.lora4j.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.LoRA;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the system javac the way a build does: the processor found through its service file on
 * {@code -processorpath}, sources and output in real folders.
 */
class PlainJavacTest {

    @TempDir
    Path dir;

    private static Path location(Class<?> type) throws URISyntaxException {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    private void write(String relative, String... lines) throws IOException {
        Path file = dir.resolve("src").resolve(relative);
        Files.createDirectories(file.getParent());
        Files.write(file, List.of(lines), StandardCharsets.UTF_8);
    }

    private record Result(boolean ok, String output, Path classes) {}

    private Result javac() throws Exception {
        write("dev/lora4j/nn/Module.java", "package dev.lora4j.nn;", "public abstract class Module {}");
        write("dev/lora4j/nn/Linear.java", "package dev.lora4j.nn;", "public class Linear extends Module {}");
        Path classes = Files.createDirectories(dir.resolve("classes"));
        List<String> args = new ArrayList<>(List.of(
                "-d", classes.toString(),
                "-classpath", location(LoRA.class).toString(),
                "-processorpath", location(LoraProcessor.class).toString(),
                "-Xlint:all", "-encoding", "UTF-8"));
        try (Stream<Path> files = Files.walk(dir.resolve("src"))) {
            files.filter(f -> f.toString().endsWith(".java")).forEach(f -> args.add(f.toString()));
        }
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int rc = compiler.run(null, out, out, args.toArray(String[]::new));
        return new Result(rc == 0, out.toString(), classes);
    }

    @Test
    void aValidModelCompilesWithoutDiagnosticsAndOnlyClassFiles() throws Exception {
        write("com/x/Model.java",
                "package com.x;",
                "import dev.lora4j.api.LoRA;",
                "import dev.lora4j.nn.Linear;",
                "public class Model {",
                "  @LoRA(rank = 4) Linear q;",
                "  @LoRA Linear v;",
                "}");
        Result r = javac();
        assertTrue(r.ok(), r.output());
        assertEquals("", r.output(), "no warnings");
        try (Stream<Path> files = Files.walk(r.classes())) {
            List<String> written = files.filter(Files::isRegularFile).map(f -> r.classes().relativize(f).toString()).toList();
            assertTrue(written.contains("com/x/Model.class"), written.toString());
            assertTrue(written.stream().allMatch(f -> f.endsWith(".class")), "the processor writes nothing: " + written);
        }
    }

    @Test
    void reportsErrorsWithFileAndLineThroughServiceDiscovery() throws Exception {
        write("com/x/Model.java",
                "package com.x;",
                "import dev.lora4j.api.LoRA;",
                "import dev.lora4j.nn.Linear;",
                "public class Model {",
                "  @LoRA(rank = 0) Linear q;",
                "  @LoRA String s;",
                "}");
        Result r = javac();
        assertFalse(r.ok());
        assertTrue(r.output().contains("Model.java:5: error: @LoRA on com.x.Model#q: rank must be at least 1, got 0"),
                r.output());
        assertTrue(r.output().contains("Model.java:6: error: @LoRA on com.x.Model#s: field type java.lang.String"),
                r.output());
        assertTrue(r.output().contains("2 errors"), r.output());
    }
}
