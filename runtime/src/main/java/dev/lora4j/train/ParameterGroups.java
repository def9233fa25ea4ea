package dev.lora4j.train;

import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Splits a model's trainable parameters into {@link ParameterGroup}s. Frozen parameters are left
 * out (an optimizer never sees them); empty groups are omitted.
 */
public final class ParameterGroups {

    /** The LoRA+ paper's recommended ratio η_B / η_A (Hayou, Ghosh &amp; Yu, 2024). */
    public static final double DEFAULT_LORA_PLUS_RATIO = 16.0;

    private ParameterGroups() {}

    /**
     * Two groups at the base learning rate: {@code "decay"} with {@code weightDecay} and
     * {@code "no_decay"} with none, split by {@link WeightDecayRule#DEFAULT}.
     */
    public static List<ParameterGroup> standard(Module model, double weightDecay) {
        return standard(model.namedParameters(), weightDecay, WeightDecayRule.DEFAULT);
    }

    /** Two groups at the base learning rate, split by {@code rule}. */
    public static List<ParameterGroup> standard(Map<String, Parameter> named, double weightDecay, WeightDecayRule rule) {
        return split(named, weightDecay, rule, 1.0);
    }

    /**
     * LoRA+ groups: the B matrices of LoRA adapters (names containing {@code lora_B} or
     * {@code lora_embedding_B}) learn at {@code base lr × ratio}, everything else at the base rate;
     * each of the two is further split by {@link WeightDecayRule#DEFAULT}. Up to four groups:
     * {@code decay}, {@code no_decay}, {@code lora_B/decay}, {@code lora_B/no_decay}.
     *
     * @param ratio η_B / η_A, positive; {@link #DEFAULT_LORA_PLUS_RATIO} in the paper
     */
    public static List<ParameterGroup> loraPlus(Module model, double weightDecay, double ratio) {
        return loraPlus(model.namedParameters(), weightDecay, ratio, WeightDecayRule.DEFAULT);
    }

    /** LoRA+ groups over named parameters, split for decay by {@code rule}. */
    public static List<ParameterGroup> loraPlus(Map<String, Parameter> named, double weightDecay, double ratio,
            WeightDecayRule rule) {
        return split(named, weightDecay, rule, ratio);
    }

    /** Whether LoRA+ treats the parameter named {@code name} as a B matrix. */
    public static boolean isLoraB(String name) {
        return name.contains("lora_B") || name.contains("lora_embedding_B");
    }

    private static List<ParameterGroup> split(Map<String, Parameter> named, double weightDecay, WeightDecayRule rule,
            double ratioForB) {
        if (!(ratioForB > 0) || Double.isInfinite(ratioForB)) {
            throw new IllegalArgumentException("LoRA+ ratio must be positive and finite, got " + ratioForB);
        }
        boolean splitB = ratioForB != 1.0;
        List<Parameter> decay = new ArrayList<>();
        List<Parameter> noDecay = new ArrayList<>();
        List<Parameter> bDecay = new ArrayList<>();
        List<Parameter> bNoDecay = new ArrayList<>();
        named.forEach((name, p) -> {
            if (!p.isTrainable()) {
                return;
            }
            boolean b = splitB && isLoraB(name);
            boolean decays = rule.decays(name, p);
            (b ? (decays ? bDecay : bNoDecay) : (decays ? decay : noDecay)).add(p);
        });
        List<ParameterGroup> groups = new ArrayList<>();
        add(groups, new ParameterGroup("decay", decay, 1.0, weightDecay));
        add(groups, new ParameterGroup("no_decay", noDecay, 1.0, 0.0));
        add(groups, new ParameterGroup("lora_B/decay", bDecay, ratioForB, weightDecay));
        add(groups, new ParameterGroup("lora_B/no_decay", bNoDecay, ratioForB, 0.0));
        return groups;
    }

    private static void add(List<ParameterGroup> groups, ParameterGroup group) {
        if (!group.parameters().isEmpty()) {
            groups.add(group);
        }
    }
}
