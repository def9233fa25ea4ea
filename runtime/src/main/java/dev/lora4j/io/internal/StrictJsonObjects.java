package dev.lora4j.io.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.io.PeftConfigException;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * lora4j's JSON config files ({@code adapter_config.json}, the agent's target specs) read as one
 * strict, bounded JSON object: UTF-8, at most {@link #MAX_FILE_BYTES}, no duplicate keys, nothing
 * after the object, limited nesting and number and string lengths.
 */
public final class StrictJsonObjects {

    /**
     * The largest config file read: PEFT writes a few kilobytes; a long explicit
     * {@code target_modules} list of a large model stays far below this.
     */
    public static final long MAX_FILE_BYTES = 16L << 20;

    /**
     * Reads configs strictly: a duplicated key (which value would PEFT use?) and anything after the
     * object are errors, and Jackson's parser limits are set explicitly (nesting 64 deep, numbers of
     * 100 digits, strings of 1M characters) so a hostile file fails fast instead of exhausting the
     * stack or the heap.
     */
    private static final StrictJsonReader READER = new StrictJsonReader(StreamReadConstraints.builder()
            .maxNestingDepth(64)
            .maxNumberLength(100)
            .maxStringLength(1 << 20)
            .maxNameLength(1 << 16)
            .maxDocumentLength(MAX_FILE_BYTES)
            .build());

    private StrictJsonObjects() {}

    /**
     * Reads a JSON object from a config file as {@code adapter_config.json} is read: at most
     * {@link #MAX_FILE_BYTES}, UTF-8, no duplicate keys, nothing after the object, bounded nesting.
     * Other lora4j config files (the agent's target specs) use it too.
     *
     * @throws PeftConfigException naming the file when the content is not such an object
     * @throws IOException if it cannot be read
     */
    public static ObjectNode read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
            throw new PeftConfigException(file + ": " + size + " bytes; a config file of more than "
                    + MAX_FILE_BYTES + " bytes is not a PEFT config");
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new PeftConfigException(file + ": not valid UTF-8", e);
        }
        return parse(text, file.toString());
    }

    /**
     * Parses a JSON object with the strictness of {@link #read}; {@code source} names it
     * in messages.
     *
     * @throws PeftConfigException naming {@code source} when the text is not such an object
     */
    public static ObjectNode parse(String text, String source) {
        JsonNode root;
        try {
            root = READER.readTree(text);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw new PeftConfigException(source + ": not valid JSON" + where + ": "
                    + firstLine(e.getOriginalMessage()), e);
        }
        if (root == null || !root.isObject()) {
            throw new PeftConfigException(source + ": expected a JSON object, found "
                    + (root == null || root.isMissingNode() ? "nothing" : root.getNodeType()));
        }
        return (ObjectNode) root;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
