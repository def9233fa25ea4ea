package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The user guide ({@code docs/GUIDE.md}) cannot rot: its Java blocks, exactly as written there,
 * are compiled as one program and run. The first block holds the imports; a block that declares
 * classes or records adds types; every other block is statements, run in the guide's order (so a
 * later block uses what an earlier one made, as a reader copying them would).
 */
class GuideSnippetsTest {

    private static final Path GUIDE = Path.of("..", "docs", "GUIDE.md").toAbsolutePath().normalize();
    private static final Pattern JAVA_BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern DECLARATION = Pattern.compile("^(class|record|interface|enum) ", Pattern.MULTILINE);

    /** The guide's program: its imports, its types as nested types, its statements in one method. */
    static String program(String guide) {
        Matcher matcher = JAVA_BLOCK.matcher(guide);
        List<String> blocks = new ArrayList<>();
        while (matcher.find()) {
            blocks.add(matcher.group(1));
        }
        assertTrue(blocks.size() >= 2, "the guide has an imports block and code: " + GUIDE);
        String imports = blocks.get(0);
        assertTrue(imports.lines().allMatch(line -> line.isBlank() || line.startsWith("import ")),
                "the first Java block of " + GUIDE + " holds the imports only");
        StringBuilder types = new StringBuilder();
        StringBuilder statements = new StringBuilder();
        for (String block : blocks.subList(1, blocks.size())) {
            if (DECLARATION.matcher(block).lookingAt()) {
                types.append(DECLARATION.matcher(block).replaceAll("static $1 ")).append('\n');
            } else {
                statements.append(block).append('\n');
            }
        }
        return imports + "\npublic final class GuideProgram {\n" + types
                + "public static void run() throws Exception {\n" + statements + "}\n}\n";
    }

    @Test
    void everyJavaBlockOfTheGuideCompilesAndRunsInOrder(@TempDir Path tmp) throws Exception {
        String source = program(Files.readString(GUIDE));
        Path file = tmp.resolve("src/GuideProgram.java");
        Files.createDirectories(file.getParent());
        Files.writeString(file, source);
        Path classes = Files.createDirectories(tmp.resolve("classes"));

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        StringWriter diagnostics = new StringWriter();
        boolean compiled = javac.getTask(diagnostics, null, null, List.of("-classpath", System.getProperty("java.class.path"),
                "-d", classes.toString(), "-Xlint:none"), null,
                javac.getStandardFileManager(null, null, null).getJavaFileObjects(file.toFile())).call();
        assertTrue(compiled, "the guide's Java blocks do not compile:\n" + diagnostics + "\n" + numbered(source));

        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()}, getClass().getClassLoader())) {
            Method run = loader.loadClass("GuideProgram").getMethod("run");
            try {
                run.invoke(null);
            } catch (InvocationTargetException e) {
                throw new AssertionError("the guide's program failed:\n" + numbered(source), e.getCause());
            }
        }
    }

    @Test
    void blocksBecomeImportsTypesAndStatementsInOrder() {
        String guide = "text\n```java\nimport a.B;\n```\n```java\nclass M {}\nrecord R(int x) {}\n```\n"
                + "```java\nint x = 1;\n```\n```bash\nnot java\n```\n```java\nx++;\n```\n";
        String program = program(guide);
        assertTrue(program.startsWith("import a.B;\n"), program);
        assertTrue(program.contains("static class M {}\nstatic record R(int x) {}"), program);
        assertEquals(1, program.split("public static void run", -1).length - 1);
        assertTrue(program.indexOf("int x = 1;") < program.indexOf("x++;"), program);
        assertTrue(!program.contains("not java"), program);
    }

    private static String numbered(String source) {
        StringBuilder out = new StringBuilder();
        List<String> lines = source.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            out.append(String.format("%4d  %s%n", i + 1, lines.get(i)));
        }
        return out.toString();
    }
}
