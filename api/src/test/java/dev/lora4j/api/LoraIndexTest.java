package dev.lora4j.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringReader;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LoraIndexTest {

    @Test
    void resourcePath() {
        assertEquals("META-INF/lora4j/lora.index", LoraIndex.RESOURCE);
    }

    @Test
    void roundTrip() {
        Map<String, List<String>> classes = new TreeMap<>();
        classes.put("com.x.Model", List.of("query", "value"));
        classes.put("com.x.Model$Block", List.of("proj"));
        classes.put("Top", List.of("a"));
        String text = LoraIndex.format(classes);
        assertEquals("# lora4j index v1\nTop\ta\ncom.x.Model\tquery,value\ncom.x.Model$Block\tproj\n", text);
        Map<String, List<String>> parsed = LoraIndex.parse(new StringReader(text));
        assertEquals(classes, parsed);
        assertEquals(List.copyOf(classes.keySet()), List.copyOf(parsed.keySet()), "file order kept");
    }

    @Test
    void ignoresBlankAndCommentLinesAndCrLf() {
        Map<String, List<String>> parsed = LoraIndex.parse(
                new StringReader("# lora4j index v1\r\n\r\n# a comment\r\na.B\tx,y\r\n"));
        Map<String, List<String>> expected = new LinkedHashMap<>();
        expected.put("a.B", List.of("x", "y"));
        assertEquals(expected, parsed);
        assertTrue(LoraIndex.parse(new StringReader("")).isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "com.x.Model query", "com.x.Model\t", "\tquery", "com.x.Model\tquery,", "com.x.Model\ta,,b",
        "com.x.Model\ta\tb", "com.x.Model\ta, b", "com x.Model\ta"
    })
    void malformedLineNamesItsNumber(String bad) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraIndex.parse(new StringReader("# lora4j index v1\na.B\tx\n" + bad + "\n")));
        assertTrue(e.getMessage().contains("line 3"), e.getMessage());
        assertTrue(e.getMessage().contains(LoraIndex.RESOURCE), e.getMessage());
    }

    @Test
    void duplicateClassIsMalformed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraIndex.parse(new StringReader("# lora4j index v1\na.B\tx\na.B\ty\n")));
        assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("twice"), e.getMessage());
    }

    @Test
    void otherVersionIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraIndex.parse(new StringReader("# lora4j index v2\na.B\tx\n")));
        assertTrue(e.getMessage().contains("line 1") && e.getMessage().contains("version"), e.getMessage());
    }

    @Test
    void loadMergesEveryIndexALoaderSees(@TempDir Path dir) throws IOException {
        Path one = write(dir.resolve("one"), "# lora4j index v1\na.B\tx\nc.D\tq\n");
        Path two = write(dir.resolve("two"), "# lora4j index v1\na.B\ty,x\ne.F\tv\n");
        try (URLClassLoader loader = new URLClassLoader(
                new java.net.URL[] {one.toUri().toURL(), two.toUri().toURL()}, null)) {
            Map<String, List<String>> loaded = LoraIndex.load(loader);
            assertEquals(Map.of("a.B", List.of("x", "y"), "c.D", List.of("q"), "e.F", List.of("v")), loaded);
        }
    }

    @Test
    void loadNamesTheMalformedResource(@TempDir Path dir) throws IOException {
        Path bad = write(dir, "# lora4j index v1\nno-tab\n");
        try (URLClassLoader loader = new URLClassLoader(new java.net.URL[] {bad.toUri().toURL()}, null)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoraIndex.load(loader));
            assertTrue(e.getMessage().contains("line 2") && e.getMessage().contains(dir.toUri().getPath()), e.getMessage());
        }
    }

    @Test
    void loadWithoutAnyIndexIsEmpty(@TempDir Path dir) throws IOException {
        try (URLClassLoader loader = new URLClassLoader(new java.net.URL[] {dir.toUri().toURL()}, null)) {
            assertTrue(LoraIndex.load(loader).isEmpty());
        }
    }

    private static Path write(Path root, String text) throws IOException {
        Path file = root.resolve(LoraIndex.RESOURCE);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text, StandardCharsets.UTF_8);
        return root;
    }
}
