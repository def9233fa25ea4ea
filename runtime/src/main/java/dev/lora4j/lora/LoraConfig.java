package dev.lora4j.lora;

import dev.lora4j.api.BiasMode;
import dev.lora4j.api.LoRA;
import dev.lora4j.api.LoraInit;
import dev.lora4j.lora.internal.ModuleNames;
import dev.lora4j.lora.internal.TargetSelection;
import dev.lora4j.nn.Module;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.jspecify.annotations.Nullable;

/**
 * Which layers of a model get an adapter and how, in PEFT's terms ({@code LoraConfig}).
 *
 * <p><b>Which layers</b>, by PEFT's rule (one matcher serves this class, {@code adapter_config.json}
 * files and the agent's target specs; see {@link #targetedModules(Module)}): targets are a list of
 * module-name suffixes (a module matches {@code q} when its path is {@code q} or ends in {@code .q}),
 * one regular expression that must match the whole path, or PEFT's {@code "all-linear"} ({@link
 * Builder#targetAllLinear()}: every {@code Linear} except the model's output layer). {@code
 * excludeModules} (suffixes) or {@code excludeRegex} (whole path) take modules out, as do the
 * modules of {@code modulesToSave}. With a suffix list, {@code layersToTransform} keeps only the
 * modules in those layers ({@code layersPattern} names the segment before the layer index, as
 * PEFT's {@code layers_pattern}); an entry equal to a whole path is selected whatever its layer, as
 * in PEFT.
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
    private final boolean allLinear;
    private final List<String> excludeModules;
    private final @Nullable String excludeRegex;
    private final List<Integer> layersToTransform;
    private final List<String> layersPattern;
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
        this.allLinear = b.allLinear;
        this.excludeModules = List.copyOf(b.excludeModules);
        this.excludeRegex = b.excludeRegex;
        this.layersToTransform = List.copyOf(b.layersToTransform);
        this.layersPattern = List.copyOf(b.layersPattern);
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
        b.allLinear = allLinear;
        b.excludeModules = new ArrayList<>(excludeModules);
        b.excludeRegex = excludeRegex;
        b.layersToTransform = new ArrayList<>(layersToTransform);
        b.layersPattern = new ArrayList<>(layersPattern);
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
     * from the path alone ({@link TargetSelection}, the same matcher an {@code adapter_config.json}
     * is read with): not excluded, not inside a module of {@code modulesToSave}, selected by the
     * target list (and {@code layersToTransform}) or regex.
     *
     * @throws IllegalStateException for {@code "all-linear"} targets, which depend on the model's
     *     layer types: use {@link #targetedModules(Module)}
     * @throws IllegalArgumentException when a pattern backtracks catastrophically on the path
     */
    public boolean targets(String path) {
        return selection().matches(path);
    }

    /**
     * The module paths of {@code model} that get an adapter, in the model's order, by PEFT's rules:
     * those {@link #targets(String)} selects or, for {@code "all-linear"}, every {@code Linear}
     * except the model's output layer (where Hugging Face models keep {@code get_output_embeddings()}:
     * {@code lm_head} and the like) less the exclusions. Module types are not checked here.
     *
     * @throws IllegalArgumentException when a pattern backtracks catastrophically on a path
     */
    public Set<String> targetedModules(Module model) {
        return selection().select(model.namedModules());
    }

    private TargetSelection selection() {
        return TargetSelection.of(this);
    }

    /** Whether {@code path} is one of the modules trained in full and saved with the adapter. */
    public boolean savesModule(String path) {
        return ModuleNames.inList(modulesToSave, path);
    }

    /** The adapter spec for the module at {@code path}, after rank and alpha patterns (PEFT's pattern keys). */
    public AdapterSettings settingsFor(String path) {
        return new AdapterSettings(rankPattern.getOrDefault(ModuleNames.patternKey(rankPattern.keySet(), path), rank),
                alphaPattern.getOrDefault(ModuleNames.patternKey(alphaPattern.keySet(), path), alpha),
                dropout, rslora, init, dora, pissaNiter);
    }

    /**
     * A description of the targets for error messages, e.g. {@code target_modules [q, v]} or {@code
     * target_modules [q] with layers_to_transform [0] excluding [layers.0.q]}.
     */
    public String describeTargets() {
        return selection().describe();
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

    /** The target suffixes ({@code target_modules} as a list); empty with a regex or {@code "all-linear"}. */
    public List<String> targetModules() {
        return targetModules;
    }

    /** The whole-path target regex, or {@code null} when targets are a suffix list or {@code "all-linear"}. */
    public @Nullable String targetRegex() {
        return targetRegex;
    }

    /**
     * Whether the targets are PEFT's {@code "all-linear"}: every {@code Linear} of the model except
     * its output layer ({@link #targetedModules(Module)} says which).
     */
    public boolean targetsAllLinear() {
        return allLinear;
    }

    /** Module-name suffixes never adapted ({@code exclude_modules} as a list); empty with a regex. */
    public List<String> excludeModules() {
        return excludeModules;
    }

    /** A regex over whole module paths never adapted ({@code exclude_modules} as a string), or {@code null}. */
    public @Nullable String excludeRegex() {
        return excludeRegex;
    }

    /**
     * PEFT's {@code layers_to_transform}: with suffix targets, only modules whose layer index is one
     * of these are adapted; empty for every layer. The layer index is the number after the segment
     * {@link #layersPattern()} names ({@code model.layers.3.mlp.up} is layer 3), that segment not
     * being the first of the path.
     */
    public List<Integer> layersToTransform() {
        return layersToTransform;
    }

    /**
     * PEFT's {@code layers_pattern}: the names (regexes for one path segment) of the module list
     * whose index is the layer index, tried in order; empty for PEFT's default, the first number
     * segment after any segment but the first.
     */
    public List<String> layersPattern() {
        return layersPattern;
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
        private boolean allLinear;
        private List<String> excludeModules = new ArrayList<>();
        private @Nullable String excludeRegex;
        private List<Integer> layersToTransform = new ArrayList<>();
        private List<String> layersPattern = new ArrayList<>();
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

        /** Module-name suffixes to adapt (replaces a regex or all-linear given before). */
        public Builder targetModules(String... names) {
            this.targetModules = new ArrayList<>(Arrays.asList(names));
            this.targetRegex = null;
            this.allLinear = false;
            return this;
        }

        /** A regular expression the whole module path must match (replaces suffixes or all-linear given before). */
        public Builder targetRegex(String regex) {
            this.targetRegex = regex;
            this.targetModules = new ArrayList<>();
            this.allLinear = false;
            return this;
        }

        /**
         * PEFT's {@code target_modules: "all-linear"}: every {@code Linear} of the model except its
         * output layer (the {@code lm_head} of a language model; see {@link
         * LoraConfig#targetedModules(Module)}) and what {@code excludeModules}, {@code excludeRegex}
         * and {@code modulesToSave} exclude. Replaces suffixes or a regex given before; cannot be
         * combined with {@link #layersToTransform} (PEFT refuses that too).
         */
        public Builder targetAllLinear() {
            this.allLinear = true;
            this.targetModules = new ArrayList<>();
            this.targetRegex = null;
            return this;
        }

        /** Module-name suffixes never to adapt (replaces an exclude regex given before). */
        public Builder excludeModules(String... names) {
            this.excludeModules = new ArrayList<>(Arrays.asList(names));
            this.excludeRegex = null;
            return this;
        }

        /**
         * A regular expression over whole module paths never to adapt ({@code exclude_modules} as a
         * string in PEFT; replaces suffixes given before).
         */
        public Builder excludeRegex(String regex) {
            this.excludeRegex = regex;
            this.excludeModules = new ArrayList<>();
            return this;
        }

        /**
         * PEFT's {@code layers_to_transform}: adapt only modules in these layers (indices &ge; 0);
         * none for every layer. Needs suffix targets ({@link #targetModules}), as in PEFT.
         */
        public Builder layersToTransform(int... layers) {
            this.layersToTransform = new ArrayList<>();
            for (int layer : layers) {
                this.layersToTransform.add(layer);
            }
            return this;
        }

        /**
         * PEFT's {@code layers_pattern}: the name (a regex for one path segment) of the module list
         * holding the layers, e.g. {@code "layers"} or {@code "h"}, several tried in order; needs
         * {@link #layersToTransform}. None: PEFT's default, any segment.
         */
        public Builder layersPattern(String... patterns) {
            this.layersPattern = new ArrayList<>(Arrays.asList(patterns));
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

        /** The target suffixes set so far (empty with a regex or all-linear). */
        public List<String> targetModules() {
            return Collections.unmodifiableList(targetModules);
        }

        /** The target regex set so far, or {@code null}. */
        public @Nullable String targetRegex() {
            return targetRegex;
        }

        /** Whether all-linear targets are set so far. */
        public boolean targetsAllLinear() {
            return allLinear;
        }

        /** The excluded suffixes set so far. */
        public List<String> excludeModules() {
            return Collections.unmodifiableList(excludeModules);
        }

        /** The exclude regex set so far, or {@code null}. */
        public @Nullable String excludeRegex() {
            return excludeRegex;
        }

        /** The layer indices set so far. */
        public List<Integer> layersToTransform() {
            return Collections.unmodifiableList(layersToTransform);
        }

        /** The layer patterns set so far. */
        public List<String> layersPattern() {
            return Collections.unmodifiableList(layersPattern);
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
            new AdapterSettings(rank, effectiveAlpha, dropout, rslora, init, dora, pissaNiter);
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
            if (targetRegex == null && !allLinear && targetModules.isEmpty()) {
                throw new IllegalArgumentException("target_modules is empty: name the layers to adapt, e.g. targetModules(\"q\", \"v\")");
            }
            for (String name : targetModules) {
                if (name == null || name.isBlank()) {
                    throw new IllegalArgumentException("target_modules contains an empty name");
                }
            }
            for (String name : excludeModules) {
                if (name == null || name.isBlank()) {
                    throw new IllegalArgumentException("exclude_modules contains an empty name");
                }
            }
            if (excludeRegex != null) {
                checkPattern("exclude_modules regex", excludeRegex);
            }
            checkLayers();
            Objects.requireNonNull(bias, "bias");
            return new LoraConfig(this);
        }

        /** PEFT's rules for {@code layers_to_transform} and {@code layers_pattern} (its {@code LoraConfig.__post_init__}). */
        private void checkLayers() {
            for (Integer layer : layersToTransform) {
                if (layer == null || layer < 0) {
                    throw new IllegalArgumentException("layers_to_transform holds " + layer
                            + "; layer indices are integers >= 0, got " + layersToTransform);
                }
            }
            if (!layersPattern.isEmpty() && layersToTransform.isEmpty()) {
                throw new IllegalArgumentException("layers_pattern " + layersPattern + " is set without layers_to_transform;"
                        + " it only says where the layer index is (PEFT refuses it alone too)");
            }
            if (!layersToTransform.isEmpty() && (allLinear || targetRegex != null)) {
                throw new IllegalArgumentException("layers_to_transform " + layersToTransform + " needs target_modules as a"
                        + " list of names, not " + (allLinear ? "\"all-linear\"" : "the regex '" + targetRegex + "'")
                        + " (PEFT refuses it too); put the layers in the regex instead");
            }
            for (String pattern : layersPattern) {
                if (pattern == null || pattern.isBlank()) {
                    throw new IllegalArgumentException("layers_pattern contains an empty name");
                }
                try {
                    Pattern.compile(".*?\\." + pattern + "\\.(\\d+)\\.");
                } catch (PatternSyntaxException e) {
                    throw new IllegalArgumentException("layers_pattern '" + pattern + "' is not a valid regular expression: "
                            + e.getDescription());
                }
            }
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
