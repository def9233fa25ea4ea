package dev.lora4j.io.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The parser-only tree reader builds what {@code ObjectMapper.readTree} builds, and refuses what it refuses. */
class StrictJsonReaderTest {

    private static final StreamReadConstraints LIMITS = StreamReadConstraints.builder().maxNestingDepth(8)
            .maxNumberLength(30).build();
    private static final StrictJsonReader READER = new StrictJsonReader(LIMITS);
    private static final ObjectMapper MAPPER = JsonMapper.builder(com.fasterxml.jackson.core.JsonFactory.builder()
                    .streamReadConstraints(LIMITS).build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"r\": 8, \"alpha\": 16.0, \"big\": 12345678901, \"huger\": 123456789012345678901234, \"neg\": -0,"
                + " \"e\": 1e-3, \"E\": 2E+2, \"t\": true, \"f\": false, \"n\": null, \"s\": \"\\u00e9\\n\\\"x\"}",
        "[1, [2, [3, {\"a\": []}]], {}, \"\"]",
        "  {\"nested\": {\"a\": {\"b\": [1.5, -2, 3.25e10]}}}  ",
        "42", "-1.0", "\"text\"", "null", "", "   ",
    })
    void buildsTheTreeObjectMapperBuilds(String json) throws Exception {
        JsonNode ours = READER.readTree(json);
        JsonNode theirs = MAPPER.readTree(json);
        assertEquals(theirs, ours);
        assertSameNodeTypes(theirs, ours);
    }

    private static void assertSameNodeTypes(JsonNode want, JsonNode got) {
        assertEquals(want.getClass(), got.getClass(), want.toString());
        if (want.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> fields = want.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> f = fields.next();
                assertSameNodeTypes(f.getValue(), got.get(f.getKey()));
            }
        } else if (want.isArray()) {
            for (int i = 0; i < want.size(); i++) {
                assertSameNodeTypes(want.get(i), got.get(i));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"r\": 4, \"r\": 8}", "{} {}", "{\"a\": 1} x", "[1, 2", "{\"a\": }", "{'a': 1}", "[[[[[[[[[[1]]]]]]]]]]",
        "1234567890123456789012345678901234567890", "NaN", "{\"a\": 01}",
    })
    void refusesWhatObjectMapperRefuses(String json) {
        JsonProcessingException theirs = assertThrows(JsonProcessingException.class, () -> MAPPER.readTree(json));
        JsonProcessingException ours = assertThrows(JsonProcessingException.class, () -> READER.readTree(json));
        if (theirs.getOriginalMessage().startsWith("Trailing token")) {
            assertTrue(ours.getOriginalMessage().startsWith("Trailing token"), ours.getMessage());
        } else {
            assertEquals(theirs.getOriginalMessage(), ours.getOriginalMessage());
        }
        assertEquals(theirs.getLocation() == null, ours.getLocation() == null, "a location where Jackson gives one");
    }
}
