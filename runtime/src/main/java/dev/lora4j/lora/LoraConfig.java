package dev.lora4j.lora;

import dev.lora4j.api.BiasMode;
import dev.lora4j.api.LoRA;
import dev.lora4j.api.LoraInit;
import dev.lora4j.lora.internal.ModuleNames;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.jspecify.annotations.Nullable;

/**
 * Which layers of a model get an adapter and how, in PEFT's terms ({@code LoraConfig}).
 *
 * <p>Targets are either a list of module-name suffixes (a module matches {@code q} when its path
 * is {@code q} or ends in {@code .q}) or one regular expression that must match the whole path.
 * {@code rankPattern} and {@code alphaPattern} override r and alpha per module: a key matches a
 * module when the regular expression {@code (.*\.)?(key)} matches its whole path, so a plain name
 * matches as a suffix and a regex works too (as PEFT 0.14+ does); the first matching key in
 * insertion order wins.
 *
 * <pre>{@code
 * LoraConfig config = LoraConfig.builder()
 *     .rank(8).alpha(16).dropout(0.05)
 *     .targetModules("query", "value")
 *     .modulesToSave("classifier")
 *     .build();
 * }</pre>
 */
public final class LoraConfig {

    private final int rank;
    private final double alpha;
    private final double dropout;
    private final boolean rslora;
    private final boolean dora;
    private final LoraInit init;
    private final int pissaNiter;
    private final List<String> targetModules;
    private final @Nullable String targetRegex;
    private final List<String> excludeModules;
    private final Map<String, Integer> rankPattern;
    private final Map<String, Double> alphaPattern;
    private final boolean fanInFanOut;
    private final BiasMode bias;
    private final List<String> modulesToSave;
    private final @Nullable Long seed;
    private final @Nullable String peftOrigin;

    private LoraConfig(Builder b) {
        this.rank = b.rank;
        this.alpha = Double.isNaN(b.alpha) ? b.rank : b.alpha;
        this.dropout = b.dropout;
        this.rslora = b.rslora;
        this.dora = b.dora;
        this.init = b.init;
        this.pissaNiter = b.pissaNiter;
        this.targetModules = List.copyOf(b.targetModules);
        this.targetRegex = b.targetRegex;
        this.excludeModules = List.copyOf(b.excludeModules);
        this.rankPattern = Collections.unmodifiableMap(new LinkedHashMap<>(b.rankPattern));
        this.alphaPattern = Collections.unmodifiableMap(new LinkedHashMap<>(b.alphaPattern));
        this.fanInFanOut = b.fanInFanOut;
        this.bias = b.bias;
        this.modulesToSave = List.copyOf(b.modulesToSave);
        this.seed = b.seed;
        this.peftOrigin = b.peftOrigin;
    }

    /** A builder with PEFT's defaults: r = 8, alpha = r, no dropout, Kaiming init, bias none. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this config's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.rank = rank;
        b.alpha = alpha;
        b.dropout = dropout;
        b.rslora = rslora;
        b.dora = dora;
        b.init = init;
        b.pissaNiter = pissaNiter;
        b.targetModules = new ArrayList<>(targetModules);
        b.targetRegex = targetRegex;
        b.excludeModules = new ArrayList<>(excludeModules);
        b.rankPattern = new LinkedHashMap<>(rankPattern);
        b.alphaPattern = new LinkedHashMap<>(alphaPattern);
        b.fanInFanOut = fanInFanOut;
        b.bias = bias;
        b.modulesToSave = new ArrayList<>(modulesToSave);
        b.seed = seed;
        b.peftOrigin = peftOrigin;
        return b;
    }

    /**
     * Whether the module at {@code path} gets an adapter (before checking its type), by PEFT's rules
     * ({@link ModuleNames}, the same matcher an {@code adapter_config.json} is read with): not
     * excluded, not inside a module of {@code modulesToSave}, and selected by the target list or
     * regex.
     *
     * @throws IllegalArgumentException when a pattern backtracks catastrophically on the path
     */
    public boolean targets(String path) {
        if (ModuleNames.inList(excludeModules, path) || ModuleNames.isInModulesToSave(path, modulesToSave)) {
            return false;
        }
        if (targetRegex != null) {
            return ModuleNames.fullMatch(targetRegex, path, "target regex");
        }
        return ModuleNames.inList(targetModules, path);
    }

    /** Whether {@code path} is one of the modules trained in full and saved with the adapter. */
    public boolean savesModule(String path) {
        return ModuleNames.inList(modulesToSave, path);
    }

    /** The adapter spec for the module at {@code path}, after rank and alpha patterns (PEFT's pattern keys). */
    public AdapterSpec specFor(String path) {
        return new AdapterSpec(rankPattern.getOrDefault(ModuleNames.patternKey(rankPattern.keySet(), path), rank),
                alphaPattern.getOrDefault(ModuleNames.patternKey(alphaPattern.keySet(), path), alpha),
                dropout, rslora, init, dora, pissaNiter);
    }

    /** A description of the targets for error messages, e.g. {@code target_modules [q, v]}. */
    public String describeTargets() {
        String targets = targetRegex != null ? "target regex '" + targetRegex + "'" : "target_modules " + targetModules;
        return excludeModules.isEmpty() ? targets : targets + " excluding " + excludeModules;
    }

    public int rank() {
        return rank;
    }

    public double alpha() {
        return alpha;
    }

    public double dropout() {
        return dropout;
    }

    public boolean rslora() {
        return rslora;
    }

    /**
     * Whether the adapters are DoRA adapters (PEFT's {@code use_dora}): each adapted layer also
     * trains a magnitude vector {@code m}, one value per output feature, and computes with the
     * weight {@code m ⊙ (W + s·B·A) / ‖W + s·B·A‖} (norm per output feature, not back-propagated
     * through, as PEFT does). Implemented for Linear, Embedding and ungrouped Conv2d layers (as
     * PEFT, which cannot make DoRA adapters on grouped convolutions); other targets are refused.
     */
    public boolean dora() {
        return dora;
    }

    public LoraInit init() {
        return init;
    }

    /**
     * With {@link LoraInit#PISSA}: the subspace iterations of the randomized SVD (PEFT's {@code
     * pissa_niter_N}), or {@code -1} for the exact SVD ({@code "pissa"}); {@code -1} otherwise.
     */
    public int pissaNiter() {
        return pissaNiter;
    }

    public List<String> targetModules() {
        return targetModules;
    }

    /** The whole-path target regex, or {@code null} when targets are a suffix list. */
    public @Nullable String targetRegex() {
        return targetRegex;
    }

    public List<String> excludeModules() {
        return excludeModules;
    }

    /** Per-module rank overrides, in the order given. */
    public Map<String, Integer> rankPattern() {
        return rankPattern;
    }

    /** Per-module alpha overrides, in the order given. */
    public Map<String, Double> alphaPattern() {
        return alphaPattern;
    }

    public boolean fanInFanOut() {
        return fanInFanOut;
    }

    public BiasMode bias() {
        return bias;
    }

    public List<String> modulesToSave() {
        return modulesToSave;
    }

    /** The seed for the adapters' initial values and dropout, or {@code null} for the shared generator. */
    public @Nullable Long seed() {
        return seed;
    }

    /**
     * The text of the {@code adapter_config.json} this config was read from, or {@code null}.
     * Saving writes back the fields lora4j does not model (task_type, peft_version, unknown
     * fields) from it, so a PEFT adapter keeps them through a load and a save.
     */
    public @Nullable String peftOrigin() {
        return peftOrigin;
    }

    @Override
    public String toString() {
        return "LoraConfig{r=" + rank + ", alpha=" + alpha + ", dropout=" + dropout + ", rslora=" + rslora
                + (dora ? ", dora=true" : "") + ", init=" + init + (pissaNiter >= 0 ? ", pissaNiter=" + pissaNiter : "")
                + ", " + describeTargets() + ", rankPattern=" + rankPattern()
                + ", alphaPattern=" + alphaPattern() + ", fanInFanOut=" + fanInFanOut + ", bias=" + bias.peftName()
                + ", modulesToSave=" + modulesToSave + "}";
    }

    /** Builds a {@link LoraConfig}; {@link #build()} validates every field. */
    public static final class Builder {
        private int rank = 8;
        private double alpha = Double.NaN;
        private double dropout = 0.0;
        private boolean rslora;
        private boolean dora;
        private LoraInit init = LoraInit.KAIMING_UNIFORM;
        private int pissaNiter = LoRA.PISSA_EXACT;
        private List<String> targetModules = new ArrayList<>();
        private @Nullable String targetRegex;
        private List<String> excludeModules = new ArrayList<>();
        private Map<String, Integer> rankPattern = new LinkedHashMap<>();
        private Map<String, Double> alphaPattern = new LinkedHashMap<>();
        private boolean fanInFanOut;
        private BiasMode bias = BiasMode.NONE;
        private List<String> modulesToSave = new ArrayList<>();
        private @Nullable Long seed;
        private @Nullable String peftOrigin;

        private Builder() {}

        /** {@code r}: at least 1. */
        public Builder rank(int rank) {
            this.rank = rank;
            return this;
        }

        /** {@code lora_alpha}: positive; defaults to the rank. */
        public Builder alpha(double alpha) {
            this.alpha = alpha;
            return this;
        }

        /** {@code lora_dropout}: in [0, 1). */
        public Builder dropout(double dropout) {
            this.dropout = dropout;
            return this;
        }

        /** Scaling {@code alpha/√r} instead of {@code alpha/r}. */
        public Builder rslora(boolean rslora) {
            this.rslora = rslora;
            return this;
        }

        /**
         * DoRA, weight-decomposed LoRA ({@code use_dora} in PEFT, arXiv 2402.09353): a trainable
         * magnitude per output feature, initialised to the norm of the weight's row, scales the
         * direction {@code (W + s·B·A) / ‖W + s·B·A‖}. Linear, Embedding and ungrouped Conv2d layers.
         */
        public Builder dora(boolean dora) {
            this.dora = dora;
            return this;
        }

        /**
         * How A and B start. {@link LoraInit#PISSA} and {@link LoraInit#OLORA} also change the base
         * weights of the adapted layers (to the residual {@code W − s·B·A}): see {@link LoraInit}
         * and, for saving, {@code AdapterSaveOptions#relativeToOriginalBase}.
         */
        public Builder init(LoraInit init) {
            this.init = init;
            return this;
        }

        /**
         * PiSSA with a randomized SVD of {@code niter} subspace iterations (PEFT's {@code
         * init_lora_weights="pissa_niter_N"}): sets the init to {@link LoraInit#PISSA}; {@code -1}
         * goes back to the exact SVD. Faster on large weights; A and B then differ from the exact
         * PiSSA's by the approximation (the residual is still {@code W − s·B·A}, so the output is
         * unchanged at the start).
         */
        public Builder pissaNiter(int niter) {
            this.pissaNiter = niter;
            if (niter >= 0) {
                this.init = LoraInit.PISSA;
            }
            return this;
        }

        /** Module-name suffixes to adapt (replaces a regex given before). */
        public Builder targetModules(String... names) {
            this.targetModules = new ArrayList<>(Arrays.asList(names));
            this.targetRegex = null;
            return this;
        }

        /** A regular expression the whole module path must match (replaces suffixes given before). */
        public Builder targetRegex(String regex) {
            this.targetRegex = regex;
            this.targetModules = new ArrayList<>();
            return this;
        }

        /** Module-name suffixes never to adapt. */
        public Builder excludeModules(String... names) {
            this.excludeModules = new ArrayList<>(Arrays.asList(names));
            return this;
        }

        /** Overrides the rank of modules matching {@code key}. */
        public Builder rankPattern(String key, int rank) {
            this.rankPattern.put(key, rank);
            return this;
        }

        /** Overrides alpha of modules matching {@code key}. */
        public Builder alphaPattern(String key, double alpha) {
            this.alphaPattern.put(key, alpha);
            return this;
        }

        /** Whether the targeted layers store their weight {@code [in, out]}. */
        public Builder fanInFanOut(boolean fanInFanOut) {
            this.fanInFanOut = fanInFanOut;
            return this;
        }

        /** Which biases train. */
        public Builder bias(BiasMode bias) {
            this.bias = bias;
            return this;
        }

        /** Modules trained in full and saved with the adapter, e.g. a classifier head. */
        public Builder modulesToSave(String... names) {
            this.modulesToSave = new ArrayList<>(Arrays.asList(names));
            return this;
        }

        /** Seeds the adapters' initial values and dropout. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Records the {@code adapter_config.json} text this config came from (see {@link LoraConfig#peftOrigin()}). */
        public Builder peftOrigin(String json) {
            this.peftOrigin = json;
            return this;
        }

        /** Forgets a seed given before: the adapters draw from lora4j's shared generator. */
        public Builder clearSeed() {
            this.seed = null;
            return this;
        }

        // what is set so far, unchecked (build() checks): read by the DSL's LoraSpec, which is a
        // view over this builder rather than a copy of its fields

        /** The rank set so far. */
        public int rank() {
            return rank;
        }

        /** The alpha set so far; {@code NaN} while unset (it then defaults to the rank). */
        public double alpha() {
            return alpha;
        }

        /** The dropout set so far. */
        public double dropout() {
            return dropout;
        }

        /** Whether rsLoRA scaling is set so far. */
        public boolean rslora() {
            return rslora;
        }

        /** Whether DoRA is set so far. */
        public boolean dora() {
            return dora;
        }

        /** The initialisation set so far. */
        public LoraInit init() {
            return init;
        }

        /** The PiSSA subspace iterations set so far ({@code -1}: exact SVD). */
        public int pissaNiter() {
            return pissaNiter;
        }

        /** The target suffixes set so far (empty with a regex). */
        public List<String> targetModules() {
            return Collections.unmodifiableList(targetModules);
        }

        /** The target regex set so far, or {@code null}. */
        public @Nullable String targetRegex() {
            return targetRegex;
        }

        /** The excluded suffixes set so far. */
        public List<String> excludeModules() {
            return Collections.unmodifiableList(excludeModules);
        }

        /** The rank overrides set so far, in order. */
        public Map<String, Integer> rankPattern() {
            return Collections.unmodifiableMap(rankPattern);
        }

        /** The alpha overrides set so far, in order. */
        public Map<String, Double> alphaPattern() {
            return Collections.unmodifiableMap(alphaPattern);
        }

        /** Whether fan-in-fan-out weights are set so far. */
        public boolean fanInFanOut() {
            return fanInFanOut;
        }

        /** The bias mode set so far. */
        public BiasMode bias() {
            return bias;
        }

        /** The modules to save set so far. */
        public List<String> modulesToSave() {
            return Collections.unmodifiableList(modulesToSave);
        }

        /** The seed set so far, or {@code null}. */
        public @Nullable Long seed() {
            return seed;
        }

        /** Validates and builds; an error names the field and the value. */
        public LoraConfig build() {
            double effectiveAlpha = Double.isNaN(alpha) ? rank : alpha;
            new AdapterSpec(rank, effectiveAlpha, dropout, rslora, init, dora, pissaNiter);
            rankPattern.forEach((key, r) -> {
                checkPattern("rank_pattern", key);
                if (r == null || r < 1) {
                    throw new IllegalArgumentException("rank_pattern['" + key + "'] must be at least 1, got " + r);
                }
            });
            alphaPattern.forEach((key, a) -> {
                checkPattern("alpha_pattern", key);
                if (a == null || !(a > 0) || a.isInfinite()) {
                    throw new IllegalArgumentException("alpha_pattern['" + key + "'] must be positive, got " + a);
                }
            });
            if (targetRegex != null) {
                checkPattern("target regex", targetRegex);
            }
            if (targetRegex == null && targetModules.isEmpty()) {
                throw new IllegalArgumentException("target_modules is empty: name the layers to adapt, e.g. targetModules(\"q\", \"v\")");
            }
            for (String name : targetModules) {
                if (name == null || name.isBlank()) {
                    throw new IllegalArgumentException("target_modules contains an empty name");
                }
            }
            Objects.requireNonNull(bias, "bias");
            return new LoraConfig(this);
        }

        private static void checkPattern(String field, String regex) {
            try {
                Pattern.compile(regex);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException(field + " '" + regex + "' is not a valid regular expression: "
                        + e.getDescription());
            }
        }
    }
}
