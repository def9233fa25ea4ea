package dev.lora4j.dsl;

import dev.lora4j.api.BiasMode;
import dev.lora4j.api.LoraInit;
import dev.lora4j.lora.LoraConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The mutable side of {@link LoraConfig}, for configuration blocks: JavaBean properties (Kotlin
 * sees {@code rank}, {@code alpha}, {@code dropout}, {@code isRslora}, ...) and methods that add
 * targets. Nothing is checked until {@link #toConfig()}, which checks everything as {@link
 * LoraConfig.Builder#build()} does.
 *
 * <pre>{@code
 * lora(model) {
 *     rank = 8
 *     alpha = 16.0                 // unset: alpha = rank
 *     dropout = 0.05
 *     targets("query", "value")    // module-name suffixes; or targetRegex = "blocks\\.[01]\\.attention\\.(query|value)"
 *     exclude("blocks.0.attention.value")
 *     rankPattern("value", 4)
 *     modulesToSave("head")
 * }
 * }</pre>
 */
public final class LoraSpec {

    private int rank = 8;
    private @Nullable Double alpha;
    private double dropout;
    private boolean rslora;
    private LoraInit init = LoraInit.KAIMING_UNIFORM;
    private final List<String> targets = new ArrayList<>();
    private @Nullable String targetRegex;
    private final List<String> exclude = new ArrayList<>();
    private final Map<String, Integer> rankPattern = new LinkedHashMap<>();
    private final Map<String, Double> alphaPattern = new LinkedHashMap<>();
    private boolean fanInFanOut;
    private BiasMode bias = BiasMode.NONE;
    private final List<String> modulesToSave = new ArrayList<>();
    private @Nullable Long seed;

    /** A spec with {@link LoraConfig}'s defaults (r = 8, alpha = r, no dropout, no targets yet). */
    public LoraSpec() {}

    /** {@code r}, the rank of every adapter without a {@link #rankPattern} entry; at least 1. */
    public int getRank() {
        return rank;
    }

    public void setRank(int rank) {
        this.rank = rank;
    }

    /** {@code lora_alpha}; {@code null} (the default) means the rank, a scaling of 1. */
    public @Nullable Double getAlpha() {
        return alpha;
    }

    public void setAlpha(@Nullable Double alpha) {
        this.alpha = alpha;
    }

    /** Dropout on the adapters' input, in [0, 1). */
    public double getDropout() {
        return dropout;
    }

    public void setDropout(double dropout) {
        this.dropout = dropout;
    }

    /** Scaling {@code alpha/√r} instead of {@code alpha/r}. */
    public boolean isRslora() {
        return rslora;
    }

    public void setRslora(boolean rslora) {
        this.rslora = rslora;
    }

    /** How A and B start. */
    public LoraInit getInit() {
        return init;
    }

    public void setInit(LoraInit init) {
        this.init = Objects.requireNonNull(init, "init");
    }

    /** Which biases train. */
    public BiasMode getBias() {
        return bias;
    }

    public void setBias(BiasMode bias) {
        this.bias = Objects.requireNonNull(bias, "bias");
    }

    /** Whether the targeted layers store their weight {@code [in, out]}. */
    public boolean isFanInFanOut() {
        return fanInFanOut;
    }

    public void setFanInFanOut(boolean fanInFanOut) {
        this.fanInFanOut = fanInFanOut;
    }

    /** Seeds the adapters' initial values and dropout; {@code null} (the default) uses lora4j's shared generator. */
    public @Nullable Long getSeed() {
        return seed;
    }

    public void setSeed(@Nullable Long seed) {
        this.seed = seed;
    }

    /**
     * Adds module-name suffixes to adapt: {@code "query"} matches {@code query} and every path
     * ending in {@code .query}. Calls add up.
     */
    public void targets(String... names) {
        targets.addAll(Arrays.asList(names));
    }

    /** The suffixes added by {@link #targets}, in order. */
    public List<String> getTargets() {
        return Collections.unmodifiableList(targets);
    }

    /** A regular expression the whole module path must match, instead of {@link #targets}. */
    public @Nullable String getTargetRegex() {
        return targetRegex;
    }

    public void setTargetRegex(@Nullable String targetRegex) {
        this.targetRegex = targetRegex;
    }

    /** Adds module-name suffixes never to adapt, even when targeted. Calls add up. */
    public void exclude(String... names) {
        exclude.addAll(Arrays.asList(names));
    }

    /** The suffixes added by {@link #exclude}, in order. */
    public List<String> getExclude() {
        return Collections.unmodifiableList(exclude);
    }

    /**
     * Gives modules matching {@code key} (a suffix or a regex, as in PEFT) rank {@code rank}; the
     * first matching key, in the order given, wins.
     */
    public void rankPattern(String key, int rank) {
        rankPattern.put(key, rank);
    }

    /** Gives modules matching {@code key} alpha {@code alpha}; see {@link #rankPattern}. */
    public void alphaPattern(String key, double alpha) {
        alphaPattern.put(key, alpha);
    }

    /** Adds modules trained in full and saved with the adapter, e.g. a classifier head. Calls add up. */
    public void modulesToSave(String... names) {
        modulesToSave.addAll(Arrays.asList(names));
    }

    /** The names added by {@link #modulesToSave}, in order. */
    public List<String> getModulesToSave() {
        return Collections.unmodifiableList(modulesToSave);
    }

    /**
     * The immutable config.
     *
     * @throws IllegalArgumentException naming the field: no targets, both targets and a regex, or
     *     any value {@link LoraConfig.Builder#build()} rejects
     */
    public LoraConfig toConfig() {
        if (targetRegex != null && !targets.isEmpty()) {
            throw new IllegalArgumentException("give targets(...) or targetRegex, not both; targets " + targets
                    + ", targetRegex '" + targetRegex + "'");
        }
        LoraConfig.Builder b = LoraConfig.builder()
                .rank(rank)
                .dropout(dropout)
                .rslora(rslora)
                .init(init)
                .fanInFanOut(fanInFanOut)
                .bias(bias)
                .excludeModules(exclude.toArray(String[]::new))
                .modulesToSave(modulesToSave.toArray(String[]::new));
        if (alpha != null) {
            b.alpha(alpha);
        }
        if (targetRegex != null) {
            b.targetRegex(targetRegex);
        } else {
            b.targetModules(targets.toArray(String[]::new));
        }
        rankPattern.forEach(b::rankPattern);
        alphaPattern.forEach(b::alphaPattern);
        if (seed != null) {
            b.seed(seed);
        }
        return b.build();
    }
}
