package dev.lora4j.dsl;

import dev.lora4j.api.BiasMode;
import dev.lora4j.api.LoraInit;
import dev.lora4j.lora.LoraConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The mutable side of {@link LoraConfig}, for configuration blocks: JavaBean properties (Kotlin
 * sees {@code rank}, {@code alpha}, {@code dropout}, {@code isRslora}, {@code isDora}, ...) and
 * methods that add targets; a view over a {@link LoraConfig.Builder}, so defaults and fields live
 * in one place.
 * Giving two kinds of targets ({@link #targets}, {@link #setTargetRegex targetRegex}, {@link
 * #allLinear()}) or of exclusions ({@link #exclude}, {@link #setExcludeRegex excludeRegex}) fails at
 * once; the rest is checked by {@link #toConfig()}, as {@link LoraConfig.Builder#build()} does.
 *
 * <pre>{@code
 * lora(model) {
 *     rank = 8
 *     alpha = 16.0                 // unset: alpha = rank
 *     dropout = 0.05
 *     targets("query", "value")    // module-name suffixes; or targetRegex = "blocks\\.[01]\\.attention\\.(query|value)"; or allLinear()
 *     layersToTransform(0, 1)      // only layers 0 and 1 (the number after "layers" in encoder.layers.0.query)
 *     layersPattern("layers")
 *     exclude("blocks.0.attention.value")   // or excludeRegex = ".*\\.value"
 *     rankPattern("value", 4)
 *     modulesToSave("head")
 * }
 * }</pre>
 */
public final class LoraSpec {

    /** The config itself: every property below reads and writes this builder. */
    private final LoraConfig.Builder config = LoraConfig.builder();

    /** A spec with {@link LoraConfig}'s defaults (r = 8, alpha = r, no dropout, no targets yet). */
    public LoraSpec() {}

    /** {@code r}, the rank of every adapter without a {@link #rankPattern} entry; at least 1. */
    public int getRank() {
        return config.rank();
    }

    public void setRank(int rank) {
        config.rank(rank);
    }

    /** {@code lora_alpha}; {@code null} (the default) means the rank, a scaling of 1. */
    public @Nullable Double getAlpha() {
        return Double.isNaN(config.alpha()) ? null : config.alpha();
    }

    public void setAlpha(@Nullable Double alpha) {
        config.alpha(alpha == null ? Double.NaN : alpha);
    }

    /** Dropout on the adapters' input, in [0, 1). */
    public double getDropout() {
        return config.dropout();
    }

    public void setDropout(double dropout) {
        config.dropout(dropout);
    }

    /** Scaling {@code alpha/√r} instead of {@code alpha/r}. */
    public boolean isRslora() {
        return config.rslora();
    }

    public void setRslora(boolean rslora) {
        config.rslora(rslora);
    }

    /** DoRA, weight-decomposed LoRA (PEFT's {@code use_dora}); see {@link LoraConfig#dora()}. */
    public boolean isDora() {
        return config.dora();
    }

    public void setDora(boolean dora) {
        config.dora(dora);
    }

    /** How A and B start; {@code PISSA} and {@code OLORA} change the base weights (see {@link LoraInit}). */
    public LoraInit getInit() {
        return config.init();
    }

    public void setInit(LoraInit init) {
        config.init(Objects.requireNonNull(init, "init"));
    }

    /**
     * PiSSA's randomized-SVD subspace iterations ({@code pissa_niter_N}), {@code -1} for the exact
     * SVD; see {@link LoraConfig.Builder#pissaNiter}. Setting a value of at least 0 sets {@code init}
     * to {@code PISSA}.
     */
    public int getPissaNiter() {
        return config.pissaNiter();
    }

    public void setPissaNiter(int niter) {
        config.pissaNiter(niter);
    }

    /** Which biases train. */
    public BiasMode getBias() {
        return config.bias();
    }

    public void setBias(BiasMode bias) {
        config.bias(Objects.requireNonNull(bias, "bias"));
    }

    /** Whether the targeted layers store their weight {@code [in, out]}. */
    public boolean isFanInFanOut() {
        return config.fanInFanOut();
    }

    public void setFanInFanOut(boolean fanInFanOut) {
        config.fanInFanOut(fanInFanOut);
    }

    /** Seeds the adapters' initial values and dropout; {@code null} (the default) uses lora4j's shared generator. */
    public @Nullable Long getSeed() {
        return config.seed();
    }

    public void setSeed(@Nullable Long seed) {
        if (seed == null) {
            config.clearSeed();
        } else {
            config.seed(seed);
        }
    }

    /**
     * Adds module-name suffixes to adapt: {@code "query"} matches {@code query} and every path
     * ending in {@code .query}. Calls add up.
     */
    public void targets(String... names) {
        if (config.targetRegex() != null) {
            throw bothTargets(List.of(names), config.targetRegex());
        }
        if (config.targetsAllLinear()) {
            throw withAllLinear("targets(...)");
        }
        config.targetModules(concat(config.targetModules(), names));
    }

    /** The suffixes added by {@link #targets}, in order. */
    public List<String> getTargets() {
        return config.targetModules();
    }

    /** A regular expression the whole module path must match, instead of {@link #targets}. */
    public @Nullable String getTargetRegex() {
        return config.targetRegex();
    }

    public void setTargetRegex(@Nullable String targetRegex) {
        if (targetRegex == null) {
            if (config.targetRegex() != null) {
                config.targetModules(new String[0]); // no regex, no suffixes yet
            }
            return;
        }
        if (!config.targetModules().isEmpty()) {
            throw bothTargets(config.targetModules(), targetRegex);
        }
        if (config.targetsAllLinear()) {
            throw withAllLinear("targetRegex");
        }
        config.targetRegex(targetRegex);
    }

    /**
     * Targets PEFT's {@code "all-linear"}: every Linear layer except the model's output layer (see
     * {@link LoraConfig.Builder#targetAllLinear()}), instead of {@link #targets} or a target regex.
     */
    public void allLinear() {
        if (!config.targetModules().isEmpty() || config.targetRegex() != null) {
            throw withAllLinear(config.targetRegex() != null ? "targetRegex" : "targets(...)");
        }
        config.targetAllLinear();
    }

    /** Whether {@link #allLinear()} was called. */
    public boolean isAllLinear() {
        return config.targetsAllLinear();
    }

    /**
     * Adds layer indices (PEFT's {@code layers_to_transform}): only modules in these layers are
     * adapted; see {@link LoraConfig#layersToTransform()}. Needs {@link #targets}. Calls add up.
     */
    public void layersToTransform(int... layers) {
        List<Integer> all = new ArrayList<>(config.layersToTransform());
        for (int layer : layers) {
            all.add(layer);
        }
        config.layersToTransform(all.stream().mapToInt(Integer::intValue).toArray());
    }

    /** The layer indices added by {@link #layersToTransform}, in order. */
    public List<Integer> getLayersToTransform() {
        return config.layersToTransform();
    }

    /**
     * Adds names of the module list holding the layers (PEFT's {@code layers_pattern}, e.g. {@code
     * "layers"}); see {@link LoraConfig#layersPattern()}. Calls add up.
     */
    public void layersPattern(String... patterns) {
        config.layersPattern(concat(config.layersPattern(), patterns));
    }

    /** The patterns added by {@link #layersPattern}, in order. */
    public List<String> getLayersPattern() {
        return config.layersPattern();
    }

    /** Adds module-name suffixes never to adapt, even when targeted. Calls add up. */
    public void exclude(String... names) {
        if (config.excludeRegex() != null) {
            throw new IllegalArgumentException("give exclude(...) or excludeRegex, not both; exclude " + List.of(names)
                    + ", excludeRegex '" + config.excludeRegex() + "'");
        }
        config.excludeModules(concat(config.excludeModules(), names));
    }

    /** A regular expression over whole module paths never to adapt, instead of {@link #exclude}. */
    public @Nullable String getExcludeRegex() {
        return config.excludeRegex();
    }

    public void setExcludeRegex(@Nullable String excludeRegex) {
        if (excludeRegex == null) {
            if (config.excludeRegex() != null) {
                config.excludeModules(); // no regex, no suffixes
            }
            return;
        }
        if (!config.excludeModules().isEmpty()) {
            throw new IllegalArgumentException("give exclude(...) or excludeRegex, not both; exclude "
                    + config.excludeModules() + ", excludeRegex '" + excludeRegex + "'");
        }
        config.excludeRegex(excludeRegex);
    }

    /** The suffixes added by {@link #exclude}, in order. */
    public List<String> getExclude() {
        return config.excludeModules();
    }

    /**
     * Gives modules matching {@code key} (a suffix or a regex, as in PEFT) rank {@code rank}; the
     * first matching key, in the order given, wins.
     */
    public void rankPattern(String key, int rank) {
        config.rankPattern(key, rank);
    }

    /** Gives modules matching {@code key} alpha {@code alpha}; see {@link #rankPattern}. */
    public void alphaPattern(String key, double alpha) {
        config.alphaPattern(key, alpha);
    }

    /** Adds modules trained in full and saved with the adapter, e.g. a classifier head. Calls add up. */
    public void modulesToSave(String... names) {
        config.modulesToSave(concat(config.modulesToSave(), names));
    }

    /** The names added by {@link #modulesToSave}, in order. */
    public List<String> getModulesToSave() {
        return config.modulesToSave();
    }

    /**
     * The immutable config.
     *
     * @throws IllegalArgumentException naming the field: no targets, or
     *     any value {@link LoraConfig.Builder#build()} rejects
     */
    public LoraConfig toConfig() {
        return config.build();
    }

    private static String[] concat(List<String> before, String... added) {
        List<String> all = new ArrayList<>(before);
        all.addAll(Arrays.asList(added));
        return all.toArray(String[]::new);
    }

    private static IllegalArgumentException bothTargets(List<String> targets, @Nullable String regex) {
        return new IllegalArgumentException("give targets(...) or targetRegex, not both; targets " + targets
                + ", targetRegex '" + regex + "'");
    }

    private IllegalArgumentException withAllLinear(String other) {
        return new IllegalArgumentException("give allLinear() or " + other + ", not both; " + describeTargets());
    }

    private String describeTargets() {
        return config.targetsAllLinear() ? "all-linear is set"
                : config.targetRegex() != null ? "targetRegex is '" + config.targetRegex() + "'"
                : "targets are " + config.targetModules();
    }
}
