package dev.lora4j.samples.minilm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Ids checked without ONNX Runtime or the tokenizer itself: the word pieces BERT's uncased
 * WordPiece must produce (lowercased, accents stripped, punctuation split off, {@code ##}
 * continuations), looked up in the vocabulary of the same tokenizer.json.
 */
class MiniLmTokenizerTest {

    private static MiniLmTokenizer tokenizer;
    private static JsonNode vocabulary;

    @BeforeAll
    static void load() throws Exception {
        tokenizer = MiniLmTokenizer.create(16);
        try (InputStream in = MiniLmTokenizer.class.getClassLoader().getResourceAsStream(MiniLmTokenizer.RESOURCE)) {
            vocabulary = new ObjectMapper().readTree(in).path("model").path("vocab");
        }
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void helloWorldHasBertsWellKnownIds() {
        assertArrayEquals(new long[] {101, 7592, 2088, 102}, tokenizer.ids("Hello world"));
    }

    @Test
    void lowercasesStripsAccentsSplitsPunctuationAndWordPieces() {
        String text = "Héllo, naïve Café! Unaffable?";
        String[] pieces = {"[CLS]", "hello", ",", "naive", "cafe", "!", "una", "##ffa", "##ble", "?", "[SEP]"};
        assertArrayEquals(pieces, tokenizer.tokens(text));
        assertArrayEquals(idsOf(pieces), tokenizer.ids(text));
    }

    @Test
    void batchesArePaddedToTheLongestAndCutAtTheMaximumLength() {
        MiniLmTokenizer.Batch batch = tokenizer.encode(List.of("a b", "hi",
                "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"));
        assertEquals(3, batch.size());
        assertEquals(16, batch.length(), "cut at 16 tokens, [CLS] and [SEP] included");
        assertArrayEquals(new long[] {101, id("a"), id("b"), 102, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, batch.ids()[0]);
        assertArrayEquals(new long[] {1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, batch.attentionMask().toLongMatrix()[0]);
        assertEquals(102, batch.ids()[2][15], "a cut sequence still ends in [SEP]");
        assertEquals(id("fourteen"), batch.ids()[2][14]);
        assertArrayEquals(new long[] {3, 16}, batch.inputIds().shape());
    }

    private static long[] idsOf(String... pieces) {
        long[] ids = new long[pieces.length];
        for (int i = 0; i < pieces.length; i++) {
            ids[i] = id(pieces[i]);
        }
        return ids;
    }

    private static long id(String piece) {
        JsonNode id = vocabulary.get(piece);
        if (id == null) {
            throw new AssertionError(piece + " is not in the vocabulary");
        }
        return id.asLong();
    }
}
