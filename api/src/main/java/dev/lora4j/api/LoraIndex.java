package dev.lora4j.api;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The index of {@link LoRA @LoRA} fields that the lora4j annotation processor writes at compile
 * time and the agent reads at run time, so that it knows which classes to instrument without
 * scanning the classpath. Only the JDK is needed to read or write it.
 *
 * <h2>Format (version 1)</h2>
 *
 * <p>The resource {@value #RESOURCE} is UTF-8 text, lines separated by {@code \n}:
 *
 * <pre>
 * # lora4j index v1
 * com.example.Model\tquery,value
 * com.example.Model$Block\tproj
 * </pre>
 *
 * <ul>
 *   <li>The first line is the header {@value #HEADER}.
 *   <li>Then one line per class that declares {@code @LoRA} fields, sorted by the class's binary name
 *       (as {@code javax.lang.model.util.Elements#getBinaryName} gives it, so nested classes use
 *       {@code $}):
 *       the binary name, one tab, then the names of its annotated fields in declaration order,
 *       separated by commas, without spaces.
 *   <li>When reading, blank lines and other lines starting with {@code #} are ignored; a first line
 *       that announces another version ({@code # lora4j index v2}) is rejected.
 * </ul>
 *
 * <p>Each compilation unit set (each jar) has its own index; {@link #load(ClassLoader)} merges all
 * of them that a class loader sees.
 */
public final class LoraIndex {

    /** Path of the index resource, relative to the class output / classpath root. */
    public static final String RESOURCE = "META-INF/lora4j/lora.index";

    /** First line of a version-1 index. */
    public static final String HEADER = "# lora4j index v1";

    private static final String HEADER_PREFIX = "# lora4j index v";

    private LoraIndex() {}

    /**
     * Reads an index.
     *
     * @param reader the index text; not closed
     * @return binary class name to annotated field names, in file order; unmodifiable
     * @throws IllegalArgumentException on a malformed line, naming its line number
     * @throws UncheckedIOException if {@code reader} fails
     */
    public static Map<String, List<String>> parse(Reader reader) {
        Map<String, List<String>> result = new LinkedHashMap<>();
        BufferedReader lines = reader instanceof BufferedReader b ? b : new BufferedReader(reader);
        int number = 0;
        try {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                number++;
                if (number == 1 && line.startsWith("\uFEFF")) {
                    line = line.substring(1);
                }
                if (number == 1 && line.startsWith(HEADER_PREFIX) && !line.strip().equals(HEADER)) {
                    throw malformed(number, line, "unsupported index version, expected '" + HEADER + "'");
                }
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                parseLine(number, line, result);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read lora4j index", e);
        }
        return Collections.unmodifiableMap(result);
    }

    /**
     * Reads and merges every index resource {@code loader} sees (its own and its parents'). A class
     * listed in several indexes (say, the same jar twice on the classpath) gets the union of its
     * fields, in first-seen order.
     *
     * @param loader where to look; {@code null} means the system class loader
     * @return binary class name to annotated field names; unmodifiable
     * @throws IllegalArgumentException on a malformed index, naming the resource's URL and line
     * @throws UncheckedIOException if a resource cannot be read
     */
    public static Map<String, List<String>> load(ClassLoader loader) {
        ClassLoader from = loader == null ? ClassLoader.getSystemClassLoader() : loader;
        Map<String, List<String>> merged = new LinkedHashMap<>();
        try {
            Enumeration<URL> resources = from.getResources(RESOURCE);
            while (resources.hasMoreElements()) {
                URL url = resources.nextElement();
                merge(merged, read(url));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + RESOURCE, e);
        }
        return Collections.unmodifiableMap(merged);
    }

    private static Map<String, List<String>> read(URL url) {
        try (Reader reader = new InputStreamReader(url.openStream(), StandardCharsets.UTF_8)) {
            return parse(reader);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read lora4j index " + url, e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + " in " + url, e);
        }
    }

    private static void merge(Map<String, List<String>> into, Map<String, List<String>> more) {
        more.forEach((className, fields) -> into.merge(className, fields, (a, b) -> {
            List<String> union = new ArrayList<>(a);
            b.stream().filter(f -> !union.contains(f)).forEach(union::add);
            return List.copyOf(union);
        }));
    }

    private static void parseLine(int number, String line, Map<String, List<String>> result) {
        int tab = line.indexOf('\t');
        if (tab < 0) {
            throw malformed(number, line, "no tab between class name and fields");
        }
        if (line.indexOf('\t', tab + 1) >= 0) {
            throw malformed(number, line, "more than one tab");
        }
        String className = line.substring(0, tab);
        if (!isName(className)) {
            throw malformed(number, line, "empty or invalid class name");
        }
        List<String> fields = new ArrayList<>();
        for (String field : line.substring(tab + 1).split(",", -1)) {
            if (!isName(field) || field.indexOf('.') >= 0) {
                throw malformed(number, line, "empty or invalid field name '" + field + "'");
            }
            fields.add(field);
        }
        if (result.putIfAbsent(className, List.copyOf(fields)) != null) {
            throw malformed(number, line, "class " + className + " listed twice");
        }
    }

    private static boolean isName(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isWhitespace(c) || c == ',' || c == '/' || Character.isISOControl(c)) {
                return false;
            }
        }
        return true;
    }

    private static IllegalArgumentException malformed(int number, String line, String why) {
        return new IllegalArgumentException(
                "malformed lora4j index (" + RESOURCE + ") line " + number + ": " + why + ": '" + line + "'");
    }

    /**
     * Writes an index in the format above; the inverse of {@link #parse(Reader)}.
     *
     * @param classes binary class name to field names; written in the map's iteration order (pass a
     *     sorted map to get the canonical order)
     * @return the index text, ending with a newline
     */
    public static String format(Map<String, ? extends List<String>> classes) {
        StringBuilder b = new StringBuilder(HEADER).append('\n');
        for (Map.Entry<String, ? extends List<String>> e : classes.entrySet()) {
            b.append(e.getKey()).append('\t').append(String.join(",", e.getValue())).append('\n');
        }
        return b.toString();
    }
}
