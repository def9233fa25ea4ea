package dev.lora4j.io.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.io.DType;
import dev.lora4j.io.SafetensorsException;
import dev.lora4j.io.SafetensorsHeader;
import dev.lora4j.io.TensorInfo;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Turns the JSON header of a safetensors file into a {@link SafetensorsHeader} with strict
 * validation, and back into padded header bytes.
 */
public final class HeaderCodec {

    /** The largest header this codec accepts, as the reference implementation does. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /**
     * Strict and bounded: duplicate keys and trailing tokens are errors, and the parser limits are
     * explicit rather than Jackson's defaults. A header nests three levels (object, entry, shape
     * array); 64 is ample. Numbers are offsets and dimensions (at most 20 digits for a u64); 100
     * digits leave room to report an overflow by value. Strings (names, metadata) may be as long as
     * the header itself, which {@link #MAX_HEADER_BYTES} bounds.
     */
    private static final StrictJsonReader READER = new StrictJsonReader(StreamReadConstraints.builder()
            .maxNestingDepth(64)
            .maxNumberLength(100)
            .maxStringLength((int) MAX_HEADER_BYTES)
            .maxNameLength((int) MAX_HEADER_BYTES)
            .maxDocumentLength(MAX_HEADER_BYTES)
            .build());

    private HeaderCodec() {}

    /**
     * Parses and validates a header.
     *
     * @param json the header bytes (UTF-8 JSON, possibly padded with trailing spaces)
     * @param dataLength the size of the data section that follows the header
     * @param file how to name the file in error messages
     * @return the header, tensors sorted by data offset (header order among equal offsets)
     * @throws SafetensorsException for anything that is not a well-formed header
     */
    public static SafetensorsHeader parse(byte[] json, long dataLength, String file) {
        JsonNode root = readJson(json, file);
        if (!root.isObject()) {
            throw error(file, "header must be a JSON object, found " + describe(root));
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorInfo> tensors = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> fields = root.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            if (field.getKey().equals(SafetensorsHeader.METADATA_KEY)) {
                readMetadata(field.getValue(), metadata, file);
            } else {
                tensors.add(readEntry(field.getKey(), field.getValue(), dataLength, file));
            }
        }
        List<TensorInfo> byOffset = new ArrayList<>(tensors);
        byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        checkNoOverlap(byOffset, file);
        return SafetensorsHeader.of(byOffset, metadata);
    }

    /**
     * The header bytes for {@code header}: compact JSON with {@code __metadata__} first (omitted when
     * empty) and the tensors in data order, padded with spaces to a multiple of 8 bytes so the data
     * section starts 8-byte aligned, as the reference implementation writes it.
     */
    public static byte[] encode(SafetensorsHeader header) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator gen = READER.factory().createGenerator(out)) {
            gen.writeStartObject();
            if (!header.metadata().isEmpty()) {
                gen.writeObjectFieldStart(SafetensorsHeader.METADATA_KEY);
                for (Map.Entry<String, String> e : header.metadata().entrySet()) {
                    gen.writeStringField(e.getKey(), e.getValue());
                }
                gen.writeEndObject();
            }
            for (TensorInfo info : header.tensors()) {
                gen.writeObjectFieldStart(info.name());
                gen.writeStringField("dtype", info.dtype().safetensorsName());
                gen.writeArrayFieldStart("shape");
                for (long d : info.shape()) {
                    gen.writeNumber(d);
                }
                gen.writeEndArray();
                gen.writeArrayFieldStart("data_offsets");
                gen.writeNumber(info.begin());
                gen.writeNumber(info.end());
                gen.writeEndArray();
                gen.writeEndObject();
            }
            gen.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // cannot happen writing to memory
        }
        int padding = (8 - out.size() % 8) % 8;
        for (int i = 0; i < padding; i++) {
            out.write(' ');
        }
        return out.toByteArray();
    }

    private static JsonNode readJson(byte[] json, String file) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(json))
                    .toString();
        } catch (MalformedInputException e) {
            throw error(file, "header is not valid UTF-8 (" + e.getMessage() + ")");
        } catch (CharacterCodingException e) {
            throw error(file, "header is not valid UTF-8 (" + e + ")");
        }
        try {
            JsonNode root = READER.readTree(text);
            if (root == null || root.isMissingNode()) {
                throw error(file, "header is empty; expected a JSON object");
            }
            return root;
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw error(file, "header is not valid JSON" + where + ": " + oneLine(e.getOriginalMessage()), e);
        }
    }

    private static void readMetadata(JsonNode node, Map<String, String> metadata, String file) {
        if (node.isNull()) {
            return;
        }
        if (!node.isObject()) {
            throw error(file, SafetensorsHeader.METADATA_KEY + " must be an object of strings, found " + describe(node));
        }
        Iterator<Map.Entry<String, JsonNode>> entries = node.fields();
        while (entries.hasNext()) {
            Map.Entry<String, JsonNode> e = entries.next();
            if (!e.getValue().isTextual()) {
                throw error(file, SafetensorsHeader.METADATA_KEY + " value for key '" + e.getKey()
                        + "' must be a string, found " + describe(e.getValue()));
            }
            metadata.put(e.getKey(), e.getValue().textValue());
        }
    }

    private static TensorInfo readEntry(String name, JsonNode node, long dataLength, String file) {
        String at = "tensor '" + name + "'";
        if (!node.isObject()) {
            throw error(file, at + " must be a JSON object, found " + describe(node));
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw error(file, at + " needs a string 'dtype', found " + describe(dtypeNode));
        }
        DType dtype = DType.fromSafetensorsName(dtypeNode.textValue());
        if (dtype == null) {
            throw error(file, at + " has unknown dtype '" + dtypeNode.textValue() + "' (supported: "
                    + Arrays.stream(DType.values()).map(DType::safetensorsName).collect(Collectors.joining(", ")) + ")");
        }
        long[] shape = readShape(node.get("shape"), at, file);
        long[] offsets = readOffsets(node.get("data_offsets"), at, file);
        long begin = offsets[0];
        long end = offsets[1];
        String shapeText = Arrays.toString(shape);
        long elements = 1;
        long bytes;
        try {
            for (long d : shape) {
                elements = Math.multiplyExact(elements, d);
            }
            bytes = Math.multiplyExact(elements, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw error(file, at + " has shape " + shapeText + " whose size in bytes ("
                    + dtype.safetensorsName() + ") overflows 64 bits");
        }
        if (begin > end) {
            throw error(file, at + " has data_offsets [" + begin + ", " + end + "] with begin after end");
        }
        if (end - begin != bytes) {
            throw error(file, at + " has shape " + shapeText + " (" + elements + " × " + dtype.safetensorsName()
                    + " = " + bytes + " bytes) but data_offsets span " + (end - begin) + " bytes");
        }
        if (end > dataLength) {
            throw error(file, at + " has data_offsets [" + begin + ", " + end + "] past the end of the data section ("
                    + dataLength + " bytes); is the file truncated?");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long[] readShape(JsonNode node, String at, String file) {
        if (node == null || !node.isArray()) {
            throw error(file, at + " needs a 'shape' array, found " + describe(node));
        }
        long[] shape = new long[node.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = nonNegativeLong(node.get(i));
            if (shape[i] < 0) {
                throw error(file, at + " has shape " + node + ": dimensions must be non-negative integers");
            }
        }
        return shape;
    }

    private static long[] readOffsets(JsonNode node, String at, String file) {
        if (node == null || !node.isArray() || node.size() != 2) {
            throw error(file, at + " needs 'data_offsets' [begin, end], found " + describe(node));
        }
        long begin = nonNegativeLong(node.get(0));
        long end = nonNegativeLong(node.get(1));
        if (begin < 0 || end < 0) {
            throw error(file, at + " has data_offsets " + node + ": offsets must be non-negative integers");
        }
        return new long[] {begin, end};
    }

    /** The value as a long when it is an integer in [0, Long.MAX_VALUE], else -1. */
    private static long nonNegativeLong(JsonNode n) {
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong()) {
            return -1;
        }
        long v = n.longValue();
        return v < 0 ? -1 : v;
    }

    private static void checkNoOverlap(List<TensorInfo> byOffset, String file) {
        TensorInfo previous = null;
        for (TensorInfo info : byOffset) {
            if (info.byteLength() == 0) {
                continue;
            }
            if (previous != null && info.begin() < previous.end()) {
                throw error(file, "tensors '" + previous.name() + "' [" + previous.begin() + ", " + previous.end()
                        + ") and '" + info.name() + "' [" + info.begin() + ", " + info.end() + ") overlap");
            }
            if (previous == null || info.end() > previous.end()) {
                previous = info;
            }
        }
    }

    private static String describe(JsonNode node) {
        if (node == null) {
            return "nothing";
        }
        String text = node.toString();
        if (text.length() > 60) {
            text = text.substring(0, 57) + "...";
        }
        return node.getNodeType().toString().toLowerCase(Locale.ROOT) + " " + text;
    }

    private static String oneLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static SafetensorsException error(String file, String message) {
        return new SafetensorsException(file + ": " + message);
    }

    private static SafetensorsException error(String file, String message, Throwable cause) {
        return new SafetensorsException(file + ": " + message, cause);
    }
}
