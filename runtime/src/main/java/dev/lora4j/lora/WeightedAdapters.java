package dev.lora4j.lora;

import dev.lora4j.lora.internal.LowRankSvd;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Computes the layers of a weighted combination of adapters ({@link CombinationType}) in double
 * precision, without changing the model; {@link LoraModel#addWeightedAdapter} attaches the result.
 */
final class WeightedAdapters {

    /** Per-layer specs and factors {@code {A, B}} (in each layer's dtype), and the new config. */
    record Result(LoraConfig config, Map<String, AdapterSettings> specs, Map<String, INDArray[]> factors) {}

    private WeightedAdapters() {}

    static Result combine(Map<String, LoraLayer> layers, List<String> adapters, List<Double> weights,
            CombinationType combination, int svdRank, @Nullable LoraConfig first) {
        if (adapters.isEmpty()) {
            throw new IllegalArgumentException("name at least one adapter to combine");
        }
        if (weights.size() != adapters.size()) {
            throw new IllegalArgumentException(adapters.size() + " adapters but " + weights.size() + " weights");
        }
        if (new HashSet<>(adapters).size() != adapters.size()) {
            throw new IllegalArgumentException("adapters to combine must differ, got " + adapters);
        }
        for (Double w : weights) {
            if (w == null || !Double.isFinite(w)) {
                throw new IllegalArgumentException("weights must be finite numbers, got " + weights);
            }
        }
        if (combination == null) {
            throw new IllegalArgumentException("name a combination type: LINEAR, CAT or SVD");
        }
        if (svdRank < 0) {
            throw new IllegalArgumentException("svd rank must be at least 1 (or 0 for the largest source rank), got "
                    + svdRank);
        }
        int maxRank = 0;
        Map<String, List<Source>> sources = new LinkedHashMap<>();
        for (Map.Entry<String, LoraLayer> entry : layers.entrySet()) {
            if (entry.getValue() instanceof LoraConv2d conv && conv.base().groups() > 1) {
                throw new IllegalArgumentException("cannot combine adapters on " + entry.getKey() + " (" + conv.base()
                        + "): the update of an adapter on a grouped convolution is not a low-rank kernel product");
            }
            List<Source> present = new ArrayList<>();
            for (int i = 0; i < adapters.size(); i++) {
                LoraAdapter adapter = entry.getValue().adapter(adapters.get(i));
                if (adapter != null && adapter.isDora()) {
                    throw new IllegalArgumentException("cannot combine adapter '" + adapter.name() + "' on "
                            + entry.getKey() + ": it is a DoRA adapter, whose magnitude vector does not combine"
                            + " linearly; merge it instead");
                }
                if (adapter != null && adapter.spec().init().changesBaseWeight()) {
                    // PEFT would give the combination the same init and decompose the base weight again
                    throw new IllegalArgumentException("cannot combine adapter '" + adapter.name() + "' on "
                            + entry.getKey() + ": it was initialised with init_lora_weights " + adapter.spec().peftInit()
                            + ", and its factors apply to the residual that init left in the base weight; save it"
                            + " converted to a plain LoRA adapter (AdapterSaveOptions.withConvertToPlainLora) and"
                            + " combine the loaded conversion");
                }
                if (adapter != null) {
                    present.add(new Source(adapter, weights.get(i) * adapter.scaling()));
                    maxRank = Math.max(maxRank, adapter.spec().rank());
                }
            }
            if (!present.isEmpty()) {
                sources.put(entry.getKey(), present);
            }
        }
        if (sources.isEmpty()) {
            throw new IllegalArgumentException("no layer carries any of " + adapters);
        }
        if (combination == CombinationType.LINEAR) {
            sources.forEach((path, present) -> {
                int r = present.get(0).adapter.spec().rank();
                for (Source s : present) {
                    if (s.adapter.spec().rank() != r) {
                        throw new IllegalArgumentException("LINEAR combination needs equal ranks, but on " + path
                                + " adapter '" + present.get(0).adapter.name() + "' has r=" + r + " and '"
                                + s.adapter.name() + "' has r=" + s.adapter.spec().rank() + "; use CAT or SVD");
                    }
                }
            });
        }
        int targetRank = svdRank == 0 ? maxRank : svdRank;
        Map<String, INDArray[]> factors = new LinkedHashMap<>();
        Map<String, AdapterSettings> specs = new LinkedHashMap<>();
        sources.forEach((path, present) -> {
            INDArray[] ab = switch (combination) {
                case LINEAR -> linear(present);
                case CAT -> cat(present);
                case SVD -> svd(present, targetRank);
            };
            LoraLayer layer = layers.get(path);
            DataType type = layer.baseWeight().dataType();
            int rank = (int) ab[0].size(0);
            factors.put(path, new INDArray[] {
                ab[0].reshape('c', layer.aShape(rank)).castTo(type), ab[1].reshape('c', layer.bShape(rank)).castTo(type)
            });
            specs.put(path, new AdapterSettings(rank, rank, first.dropout(), false, first.init()));
        });
        int r = specs.values().stream().mapToInt(AdapterSettings::rank).max().orElseThrow();
        LoraConfig.Builder config = LoraConfig.builder()
                .rank(r).alpha(r).dropout(first.dropout()).rslora(false).init(first.init())
                .fanInFanOut(first.fanInFanOut())
                .targetModules(specs.keySet().toArray(String[]::new));
        specs.forEach((path, spec) -> {
            if (spec.rank() != r) {
                config.rankPattern(path, spec.rank()).alphaPattern(path, spec.rank());
            }
        });
        return new Result(config.build(), specs, factors);
    }

    /** One adapter's factors as matrices {@code A [r, in·…]} and {@code B [out, r]} (convolution kernels flattened). */
    private record Source(LoraAdapter adapter, double weight) {
        INDArray a() {
            INDArray a = adapter.a().value();
            return a.dup('c').castTo(DataType.DOUBLE).reshape('c', a.size(0), a.length() / a.size(0)); // a copy: callers scale it in place
        }

        INDArray b() {
            INDArray b = adapter.b().value();
            return b.dup('c').castTo(DataType.DOUBLE).reshape('c', b.size(0), b.length() / b.size(0));
        }
    }

    /** {@code A = Σ sign(c)·√|c|·A_i}, {@code B = Σ √|c|·B_i} with {@code c = w_i·s_i}. */
    private static INDArray[] linear(List<Source> sources) {
        INDArray a = null;
        INDArray b = null;
        for (Source s : sources) {
            double root = Math.sqrt(Math.abs(s.weight));
            INDArray ai = s.a().muli(s.weight >= 0 ? root : -root);
            INDArray bi = s.b().muli(root);
            a = a == null ? ai : a.addi(ai);
            b = b == null ? bi : b.addi(bi);
        }
        return new INDArray[] {a, b};
    }

    /** {@code A} = rows {@code w_i·s_i·A_i} stacked, {@code B} = columns {@code B_i} side by side. */
    private static INDArray[] cat(List<Source> sources) {
        List<INDArray> as = new ArrayList<>();
        List<INDArray> bs = new ArrayList<>();
        for (Source s : sources) {
            as.add(s.a().muli(s.weight));
            bs.add(s.b());
        }
        return new INDArray[] {Nd4j.vstack(as), Nd4j.hstack(bs)};
    }

    /** The truncated SVD of {@code Σ w_i·s_i·B_i·A_i} = (stacked B)·(stacked weighted A). */
    private static INDArray[] svd(List<Source> sources, int rank) {
        INDArray[] stacked = cat(sources);
        LowRankSvd svd = LowRankSvd.ofProduct(stacked[1].toDoubleMatrix(), stacked[0].toDoubleMatrix());
        INDArray a = Nd4j.createFromArray(svd.rightTransposed(rank));
        INDArray b = Nd4j.createFromArray(svd.scaledLeft(rank));
        return new INDArray[] {a, b};
    }
}
