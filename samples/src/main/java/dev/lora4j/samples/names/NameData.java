package dev.lora4j.samples.names;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The first-name lists shipped in {@code data/names/} (see PROVENANCE.md there), as character
 * sequences for next-character prediction: {@code .emma.} → inputs {@code .emma}, targets
 * {@code emma.}, padded to a fixed length with ignored targets.
 */
public final class NameData {

    /** The boundary character that starts and ends every name. */
    public static final char BOUNDARY = '.';
    /** The characters the names use, boundary first. */
    public static final String ALPHABET = ".-abcdefghijklmnopqrstuvwxyz";
    /** The longest name is 15 characters; with the start boundary a sequence has 16 positions. */
    public static final int LENGTH = 16;
    /** The target value that the loss ignores (padding). */
    public static final int IGNORE = -100;

    /** One batch: ids {@code [batch, LENGTH]} and one target per position, row-major. */
    public record Batch(INDArray ids, int[] targets, int names) {}

    /**
     * A list split 80/10/10 with a fixed seed.
     *
     * @param train training names
     * @param validation names for early stopping
     * @param test names for the final figures
     */
    public record Split(List<String> train, List<String> validation, List<String> test) {}

    private NameData() {}

    /** Reads {@code male} or {@code female} from the classpath, lower-cased, in file order. */
    public static List<String> load(String list) {
        String resource = "/data/names/" + list + ".txt";
        try (InputStream in = NameData.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("no name list " + resource + " on the classpath");
            }
            List<String> names = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                String name = line.strip().toLowerCase(Locale.ROOT);
                if (name.isEmpty()) {
                    continue;
                }
                if (name.length() >= LENGTH || !name.chars().allMatch(c -> ALPHABET.indexOf(c) > 0)) {
                    throw new IllegalArgumentException(resource + ": name '" + line + "' has characters outside "
                            + ALPHABET.substring(1) + " or is longer than " + (LENGTH - 1));
                }
                names.add(name);
            }
            return names;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
    }

    /** Shuffles with {@code seed} and splits 80/10/10. */
    public static Split split(List<String> names, long seed) {
        List<String> shuffled = new ArrayList<>(names);
        Collections.shuffle(shuffled, new Random(seed));
        int trainEnd = shuffled.size() * 8 / 10;
        int validationEnd = shuffled.size() * 9 / 10;
        return new Split(List.copyOf(shuffled.subList(0, trainEnd)),
                List.copyOf(shuffled.subList(trainEnd, validationEnd)),
                List.copyOf(shuffled.subList(validationEnd, shuffled.size())));
    }

    /** Cuts {@code names} into batches of at most {@code size}, in order. */
    public static List<Batch> batches(List<String> names, int size) {
        List<Batch> batches = new ArrayList<>();
        for (int from = 0; from < names.size(); from += size) {
            batches.add(batch(names.subList(from, Math.min(names.size(), from + size))));
        }
        return batches;
    }

    /** One batch of names. */
    public static Batch batch(List<String> names) {
        int[][] ids = new int[names.size()][LENGTH];
        int[] targets = new int[names.size() * LENGTH];
        java.util.Arrays.fill(targets, IGNORE);
        for (int n = 0; n < names.size(); n++) {
            String sequence = BOUNDARY + names.get(n) + BOUNDARY;
            for (int t = 0; t + 1 < sequence.length(); t++) {
                ids[n][t] = id(sequence.charAt(t));
                targets[n * LENGTH + t] = id(sequence.charAt(t + 1));
            }
        }
        return new Batch(Nd4j.createFromArray(ids), targets, names.size());
    }

    /** The id of a character of {@link #ALPHABET}. */
    public static int id(char c) {
        int id = ALPHABET.indexOf(c);
        if (id < 0) {
            throw new IllegalArgumentException("'" + c + "' is not in the alphabet");
        }
        return id;
    }
}
