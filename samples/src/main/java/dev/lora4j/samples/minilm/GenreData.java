package dev.lora4j.samples.minilm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The Brown Corpus sentence-genre dataset shipped in {@code data/brown-genres/} (see its
 * PROVENANCE.md): six classes, fixed train / validation / test splits of {@code label<TAB>sentence}
 * lines, and batches of MiniLM token ids.
 */
public final class GenreData {

    /** The classes, in the order of the logits. */
    public static final List<String> LABELS =
            List.of("news", "religion", "hobbies", "government", "learned", "fiction");

    /** The splits shipped with the sample. */
    public enum Split {
        TRAIN("train"), VALIDATION("validation"), TEST("test");

        private final String file;

        Split(String file) {
            this.file = file;
        }

        /** The resource holding this split. */
        public String resource() {
            return "data/brown-genres/" + file + ".tsv";
        }
    }

    /** One labelled sentence. */
    public record Example(int label, String text) {}

    /**
     * A batch ready for the model.
     *
     * @param inputIds {@code [batch, time]} token ids, padded with 0 to the longest sentence in the batch
     * @param attentionMask {@code [batch, time]}, 1 for tokens, 0 for padding
     * @param labels the class of each row
     */
    public record Batch(INDArray inputIds, INDArray attentionMask, int[] labels) implements java.io.Serializable {
        /** The number of sentences. */
        public int size() {
            return labels.length;
        }

        /** The padded length. */
        public long length() {
            return inputIds.size(1);
        }

        /**
         * Sentences {@code [from, to)}, padded as in this batch (views of its arrays): a shard for a
         * data-parallel worker ({@link dev.lora4j.train.TrainingTask#withSlicer}).
         */
        public Batch slice(int from, int to) {
            return new Batch(inputIds.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()),
                    attentionMask.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()),
                    Arrays.copyOfRange(labels, from, to));
        }
    }

    private GenreData() {}

    /** All examples of one split, in file order. */
    public static List<Example> load(Split split) {
        List<Example> examples = new ArrayList<>();
        try (InputStream in = GenreData.class.getClassLoader().getResourceAsStream(split.resource())) {
            if (in == null) {
                throw new IllegalStateException(split.resource() + " is not on the class path");
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                int tab = line.indexOf('\t');
                int label = tab < 0 ? -1 : LABELS.indexOf(line.substring(0, tab));
                if (label < 0) {
                    throw new IllegalStateException(split.resource() + " line " + number
                            + ": expected one of " + LABELS + ", a tab, and a sentence");
                }
                examples.add(new Example(label, line.substring(tab + 1)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + split.resource(), e);
        }
        return examples;
    }

    /**
     * The first {@code perClass} examples of each class, in file order (for short runs and tests;
     * the files are already shuffled).
     */
    public static List<Example> perClass(List<Example> examples, int perClass) {
        int[] taken = new int[LABELS.size()];
        List<Example> out = new ArrayList<>();
        for (Example e : examples) {
            if (taken[e.label()] < perClass) {
                taken[e.label()]++;
                out.add(e);
            }
        }
        return out;
    }

    /**
     * Tokenizes {@code examples} and groups them into batches of about equal length, so that little
     * compute goes into padding: the examples are shuffled with {@code seed}, then sorted by length
     * within pools of 8 batches, then cut into batches (the trainer shuffles the batch order every
     * epoch). With {@code seed < 0} the order is kept and batches are cut as they come.
     */
    public static List<Batch> batches(List<Example> examples, MiniLmTokenizer tokenizer, int batchSize, long seed) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        List<Tokenized> tokenized = new ArrayList<>(examples.size());
        for (Example e : examples) {
            tokenized.add(new Tokenized(tokenizer.ids(e.text()), e.label()));
        }
        if (seed >= 0) {
            Collections.shuffle(tokenized, new Random(seed));
            int pool = 8 * batchSize;
            for (int start = 0; start < tokenized.size(); start += pool) {
                tokenized.subList(start, Math.min(tokenized.size(), start + pool))
                        .sort(Comparator.comparingInt(t -> t.ids().length));
            }
        }
        List<Batch> batches = new ArrayList<>();
        for (int start = 0; start < tokenized.size(); start += batchSize) {
            batches.add(batch(tokenized.subList(start, Math.min(tokenized.size(), start + batchSize))));
        }
        return batches;
    }

    private static Batch batch(List<Tokenized> rows) {
        int length = 0;
        for (Tokenized t : rows) {
            length = Math.max(length, t.ids().length);
        }
        long[][] ids = new long[rows.size()][length];
        long[][] mask = new long[rows.size()][length];
        int[] labels = new int[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            long[] row = rows.get(i).ids();
            System.arraycopy(row, 0, ids[i], 0, row.length);
            for (int t = 0; t < row.length; t++) {
                mask[i][t] = 1;
            }
            labels[i] = rows.get(i).label();
        }
        return new Batch(Nd4j.createFromArray(ids), Nd4j.createFromArray(mask), labels);
    }

    private record Tokenized(long[] ids, int label) {}
}
