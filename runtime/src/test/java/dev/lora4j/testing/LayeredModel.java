package dev.lora4j.testing;

import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A model for layer selection, its module paths shaped as in a Hugging Face model: {@code embed}
 * (an Embedding), {@code encoder.layers.{i}.{query, value, dense}} (Linear 4 → 4) with {@code
 * encoder.layers.{i}.norm} (a LayerNorm), a {@code pooler} Linear outside the layers, and the heads
 * asked for among {@code lm_head} (4 → 10), {@code score} and {@code classifier} (4 → 3). In
 * {@code namedModules()} order: embed, encoder, encoder.layers.0, its query, value, dense, norm,
 * ..., pooler, lm_head, score, classifier.
 */
public final class LayeredModel extends Module {

    /** {@code encoder.layers.{i}}. */
    public static final class Block extends Module {
        public final Linear query = new Linear(4, 4);
        public final Linear value = new Linear(4, 4);
        public final Linear dense = new Linear(4, 4);
        public final LayerNorm norm = new LayerNorm(4);
    }

    /** {@code encoder}. */
    public static final class Encoder extends Module {
        public final List<Block> layers = new ArrayList<>();
    }

    public final Embedding embed = new Embedding(10, 4);
    public final Encoder encoder = new Encoder();
    public final Linear pooler = new Linear(4, 4);
    public final @Nullable Linear lm_head;
    public final @Nullable Linear score;
    public final @Nullable Linear classifier;

    /** {@code layers} blocks and the heads named in {@code heads} ({@code lm_head}, {@code score}, {@code classifier}). */
    public LayeredModel(int layers, String... heads) {
        for (int i = 0; i < layers; i++) {
            encoder.layers.add(new Block());
        }
        Set<String> wanted = Set.of(heads);
        lm_head = wanted.contains("lm_head") ? new Linear(4, 10) : null;
        score = wanted.contains("score") ? new Linear(4, 3) : null;
        classifier = wanted.contains("classifier") ? new Linear(4, 3) : null;
    }

    /** The paths of {@code encoder.layers.{i}.{name}} for each layer and name, layer by layer, in field order. */
    public static List<String> blockPaths(int[] layers, String... names) {
        List<String> out = new ArrayList<>();
        for (int layer : layers) {
            for (String name : names) {
                out.add("encoder.layers." + layer + "." + name);
            }
        }
        return out;
    }
}
