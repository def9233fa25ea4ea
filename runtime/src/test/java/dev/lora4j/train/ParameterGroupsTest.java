package dev.lora4j.train;

import static dev.lora4j.train.Arrays64.frozen;
import static dev.lora4j.train.Arrays64.matrix;
import static dev.lora4j.train.Arrays64.param;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.nn.Parameter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

class ParameterGroupsTest {

    private final Map<String, Parameter> named = new LinkedHashMap<>();
    private final Parameter qA = put("encoder.0.q.lora_A.default.weight", matrix(2, 4, 0.1));
    private final Parameter qB = put("encoder.0.q.lora_B.default.weight", matrix(4, 2, 0.0));
    private final Parameter base = put("encoder.0.q.base_layer.weight", frozenMatrix());
    private final Parameter embA = put("embed.lora_embedding_A.default", matrix(2, 10, 0.1));
    private final Parameter embB = put("embed.lora_embedding_B.default", matrix(8, 2, 0.0));
    private final Parameter headW = put("classifier.weight", matrix(3, 4, 0.2));
    private final Parameter headBias = put("classifier.bias", param(0, 0, 0));
    private final Parameter lnWeight = put("ln.weight", param(1, 1, 1, 1));

    private Parameter put(String name, Parameter p) {
        named.put(name, p);
        return p;
    }

    private static Parameter frozenMatrix() {
        return new Parameter(Nd4j.ones(org.nd4j.linalg.api.buffer.DataType.DOUBLE, 4, 4), false);
    }

    private static ParameterGroup group(List<ParameterGroup> groups, String name) {
        return groups.stream().filter(g -> g.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void loraPlusGivesBMatricesTheRatio() {
        List<ParameterGroup> groups = ParameterGroups.loraPlus(named, 0.01, 16, WeightDecayRule.DEFAULT);
        assertEquals(List.of("decay", "no_decay", "lora_B/decay"), groups.stream().map(ParameterGroup::name).toList());

        ParameterGroup decay = group(groups, "decay");
        assertEquals(List.of(qA, embA, headW), decay.parameters());
        assertEquals(1.0, decay.learningRateMultiplier());
        assertEquals(0.01, decay.weightDecay());

        ParameterGroup noDecay = group(groups, "no_decay");
        assertEquals(List.of(headBias, lnWeight), noDecay.parameters());
        assertEquals(0.0, noDecay.weightDecay());

        ParameterGroup b = group(groups, "lora_B/decay");
        assertEquals(List.of(qB, embB), b.parameters());
        assertEquals(16.0, b.learningRateMultiplier());
        assertEquals(0.01, b.weightDecay());

        List<Parameter> all = new ArrayList<>();
        groups.forEach(g -> all.addAll(g.parameters()));
        assertTrue(all.stream().noneMatch(p -> p == base), "frozen parameters are left out");
    }

    @Test
    void effectiveRatesOfAnOptimizerStep() {
        Sgd sgd = new Sgd(ParameterGroups.loraPlus(named, 0.0, ParameterGroups.DEFAULT_LORA_PLUS_RATIO,
                WeightDecayRule.DEFAULT));
        for (Parameter p : List.of(qA, qB)) {
            p.restoreGrad(Nd4j.onesLike(p.value()));
        }
        sgd.step(0.01);
        assertEquals(0.1 - 0.01, qA.value().getDouble(0, 0), 1e-12);
        assertEquals(0.0 - 0.16, qB.value().getDouble(0, 0), 1e-12);
    }

    @Test
    void standardSplitsOnlyByDecay() {
        List<ParameterGroup> groups = ParameterGroups.standard(named, 0.1, WeightDecayRule.DEFAULT);
        assertEquals(2, groups.size());
        assertEquals(List.of(qA, qB, embA, embB, headW), group(groups, "decay").parameters());
        assertEquals(List.of(headBias, lnWeight), group(groups, "no_decay").parameters());
    }

    @Test
    void decayRule() {
        assertTrue(WeightDecayRule.DEFAULT.decays("q.lora_A.default.weight", qA));
        assertTrue(!WeightDecayRule.DEFAULT.decays("classifier.bias", headBias));
        assertTrue(!WeightDecayRule.DEFAULT.decays("ln.weight", lnWeight), "1-D parameters are not decayed");
        assertTrue(!WeightDecayRule.DEFAULT.decays("odd.bias", matrix(2, 2, 0)), "a name ending in bias is not decayed");
        assertTrue(ParameterGroups.isLoraB("x.lora_embedding_B.default"));
        assertTrue(!ParameterGroups.isLoraB("x.lora_A.default.weight"));
        assertTrue(WeightDecayRule.ALL.decays("classifier.bias", headBias));
    }

    @Test
    void frozenOnlyModelGivesNoGroups() {
        Map<String, Parameter> onlyFrozen = Map.of("w", frozen(1.0));
        assertTrue(ParameterGroups.standard(onlyFrozen, 0, WeightDecayRule.DEFAULT).isEmpty());
        assertThrows(IllegalArgumentException.class,
                () -> ParameterGroups.loraPlus(named, 0, 0, WeightDecayRule.DEFAULT));
    }
}
