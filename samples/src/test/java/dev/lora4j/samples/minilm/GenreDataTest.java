package dev.lora4j.samples.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class GenreDataTest {

    @Test
    void theSplitsHoldSixBalancedClasses() {
        int[] sizes = {400, 60, 120};
        for (GenreData.Split split : GenreData.Split.values()) {
            List<GenreData.Example> examples = GenreData.load(split);
            int[] perClass = new int[GenreData.LABELS.size()];
            examples.forEach(e -> perClass[e.label()]++);
            int expected = sizes[split.ordinal()];
            assertTrue(Arrays.stream(perClass).allMatch(n -> n == expected), split + ": " + Arrays.toString(perClass));
        }
        assertEquals(12, GenreData.perClass(GenreData.load(GenreData.Split.TEST), 2).size());
    }

    @Test
    void batchesAreCutAtTheMaximumLengthAndKeepEveryExampleOnce() {
        List<GenreData.Example> examples = GenreData.perClass(GenreData.load(GenreData.Split.VALIDATION), 10);
        try (MiniLmTokenizer tokenizer = MiniLmTokenizer.create(24)) {
            List<GenreData.Batch> batches = GenreData.batches(examples, tokenizer, 16, 5);
            assertEquals(60, batches.stream().mapToInt(GenreData.Batch::size).sum());
            assertEquals(4, batches.size());
            int[] labels = batches.stream().flatMapToInt(b -> Arrays.stream(b.labels())).sorted().toArray();
            assertEquals(Arrays.toString(examples.stream().mapToInt(GenreData.Example::label).sorted().toArray()),
                    Arrays.toString(labels));
            for (GenreData.Batch b : batches) {
                assertTrue(b.length() <= 24, "cut at 24 tokens: " + b.length());
                assertEquals(b.inputIds().neq(0).castTo(b.attentionMask().dataType()), b.attentionMask(),
                        "the mask marks exactly the non-padding tokens");
            }
        }
    }
}
