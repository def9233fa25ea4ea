package dev.lora4j.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
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
}
