package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.LoraInit;
import dev.lora4j.nn.Init;
import dev.lora4j.testing.Float64;
import dev.lora4j.testing.TinyTransformer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * PEFT's add_weighted_adapter, in float64 so the checks can be tight: {@code cat} and full-rank
 * {@code svd} reproduce Σ w_i·ΔW_i to 1e-12 / 1e-10 (max abs, on updates of size ≈ 1); {@code linear}
 * matches PEFT's formula for the factors to 1e-12; a truncated {@code svd} is the orthogonal
 * projection onto the top singular directions, which an independent power iteration confirms.
 */
@ExtendWith(Float64.class)
class WeightedAdapterTest {

    private static final String Q = "blocks.0.attention.query";
    private static final String V = "blocks.0.attention.value";
    private static final String K = "blocks.0.attention.key";

    private LoraModel<TinyTransformer> lora;

    @BeforeEach
    void adapters() {
        Init.seed(3);
        TinyTransformer model = new TinyTransformer(10, 16, 2, 2, 8);
        lora = LoraModel.wrap(model, "a", LoraConfig.builder().rank(4).alpha(8).targetModules("query", "value")
                .init(LoraInit.RANDOM).seed(1).build());
        lora.addAdapter("b", LoraConfig.builder().rank(4).alpha(2).rslora(true).targetModules("query", "key")
                .init(LoraInit.RANDOM).seed(2).build());
        lora.addAdapter("c", LoraConfig.builder().rank(2).alpha(6).targetModules("query")
                .init(LoraInit.RANDOM).seed(4).build());
    }

    private INDArray delta(String path, String adapter) {
        LoraLayer layer = lora.layers().get(path);
        return layer.deltaWeight(layer.adapter(adapter));
    }

    private static double maxAbs(INDArray x) {
        return x.amaxNumber().doubleValue();
    }

    @Test
    void catReproducesTheExactWeightedSumOfUpdates() {
        lora.addWeightedAdapter(List.of("a", "b", "c"), List.of(0.7, -1.3, 0.5), "mix", CombinationType.CAT);

        INDArray expectedQ = delta(Q, "a").mul(0.7).addi(delta(Q, "b").mul(-1.3)).addi(delta(Q, "c").mul(0.5));
        assertTrue(maxAbs(expectedQ) > 0.1, "a meaningful update");
        assertTrue(maxAbs(delta(Q, "mix").sub(expectedQ)) < 1e-12);
        assertTrue(maxAbs(delta(V, "mix").sub(delta(V, "a").mul(0.7))) < 1e-12, "value carries only a");
        assertTrue(maxAbs(delta(K, "mix").sub(delta(K, "b").mul(-1.3))) < 1e-12, "key carries only b");

        LoraAdapter mix = lora.layers().get(Q).adapter("mix");
        assertEquals(10, mix.spec().rank(), "cat rank is the sum of the ranks on the layer");
        assertEquals(1.0, mix.spec().scaling());
        assertEquals(4, lora.layers().get(V).adapter("mix").spec().rank());
        assertEquals(1.0, lora.layers().get(V).adapter("mix").spec().scaling());
        assertEquals(List.of("a"), lora.activeAdapters(), "the new adapter starts inactive");
        assertFalse(lora.config("mix").rslora());
    }

    @Test
    void fullRankSvdEqualsTheWeightedSumAndItsFactorsAreOrthogonal() {
        lora.addWeightedAdapter(List.of("a", "b", "c"), List.of(0.7, -1.3, 0.5), "svd", CombinationType.SVD, 10);
        INDArray expectedQ = delta(Q, "a").mul(0.7).addi(delta(Q, "b").mul(-1.3)).addi(delta(Q, "c").mul(0.5));
        assertTrue(maxAbs(delta(Q, "svd").sub(expectedQ)) < 1e-10);
        assertTrue(maxAbs(delta(V, "svd").sub(delta(V, "a").mul(0.7))) < 1e-10);

        INDArray a = lora.layers().get(Q).adapter("svd").a().value();
        INDArray gram = a.mmul(a.transpose());
        assertTrue(maxAbs(gram.sub(Nd4j.eye(10))) < 1e-10, "A = Vᵀ has orthonormal rows");
        INDArray b = lora.layers().get(Q).adapter("svd").b().value();
        double[] norms = b.norm2(0).toDoubleVector();
        for (int i = 1; i < norms.length; i++) {
            assertTrue(norms[i] <= norms[i - 1] + 1e-12, "B = U·S columns by decreasing singular value");
        }
    }

    @Test
    void truncatedSvdKeepsTheTopSingularDirections() {
        lora.addWeightedAdapter(List.of("a", "b"), List.of(1.0, 1.0), "low", CombinationType.SVD, 2);
        LoraAdapter low = lora.layers().get(Q).adapter("low");
        assertEquals(2, low.spec().rank());
        // in B·A orientation: M [out, in] = Σ w_i·s_i·B_i·A_i
        INDArray m = ba(Q, "a").addi(ba(Q, "b"));
        INDArray a = low.a().value();
        INDArray b = low.b().value();
        assertTrue(maxAbs(a.mmul(a.transpose()).sub(Nd4j.eye(2))) < 1e-10, "orthonormal rows");
        assertTrue(maxAbs(b.sub(m.mmul(a.transpose()))) < 1e-10, "B = M·Aᵀ: an orthogonal projection of M");
        double[] sigma = topSingularValues(m, 2);
        double captured = b.norm2Number().doubleValue();
        assertEquals(Math.sqrt(sigma[0] * sigma[0] + sigma[1] * sigma[1]), captured, 1e-8,
                "captures exactly the energy of the top two singular values (Eckart–Young)");
    }

    @Test
    void linearFollowsPeftsFormula() {
        lora.addWeightedAdapter(List.of("a", "b"), List.of(0.6, -0.8), "lin", CombinationType.LINEAR);
        LoraLayer q = lora.layers().get(Q);
        double ca = 0.6 * q.adapter("a").scaling();
        double cb = -0.8 * q.adapter("b").scaling();
        INDArray expectedA = q.adapter("a").a().value().mul(Math.sqrt(Math.abs(ca)))
                .addi(q.adapter("b").a().value().mul(-Math.sqrt(Math.abs(cb))));
        INDArray expectedB = q.adapter("a").b().value().mul(Math.sqrt(Math.abs(ca)))
                .addi(q.adapter("b").b().value().mul(Math.sqrt(Math.abs(cb))));
        assertTrue(maxAbs(q.adapter("lin").a().value().sub(expectedA)) < 1e-12);
        assertTrue(maxAbs(q.adapter("lin").b().value().sub(expectedB)) < 1e-12);
        assertEquals(4, q.adapter("lin").spec().rank());
        // with one adapter per layer, linear is exact: value = 0.6·ΔW_a
        assertTrue(maxAbs(delta(V, "lin").sub(delta(V, "a").mul(0.6))) < 1e-12);
    }

    @Test
    void linearNeedsEqualRanksAndBadArgumentsChangeNothing() {
        Map<String, LoraLayer> before = lora.layers();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> lora.addWeightedAdapter(List.of("a", "c"), List.of(1.0, 1.0), "x", CombinationType.LINEAR));
        assertTrue(e.getMessage().contains("equal ranks") && e.getMessage().contains(Q), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> lora.addWeightedAdapter(List.of("a", "zz"), List.of(1.0, 1.0), "x", CombinationType.CAT));
        assertThrows(IllegalArgumentException.class,
                () -> lora.addWeightedAdapter(List.of("a", "b"), List.of(1.0), "x", CombinationType.CAT));
        assertThrows(IllegalArgumentException.class,
                () -> lora.addWeightedAdapter(List.of("a", "b"), List.of(1.0, 1.0), "b", CombinationType.CAT));
        assertEquals(List.of("a", "b", "c"), List.copyOf(lora.adapterNames()));
        before.values().forEach(layer -> assertFalse(layer.adapters().containsKey("x")));
    }

    private INDArray ba(String path, String adapter) {
        LoraAdapter x = lora.layers().get(path).adapter(adapter);
        return x.b().value().mmul(x.a().value()).muli(x.scaling());
    }

    /** Power iteration with deflation on MᵀM: an SVD-free reference for the top singular values. */
    private static double[] topSingularValues(INDArray m, int count) {
        INDArray gram = m.transpose().mmul(m);
        double[] out = new double[count];
        for (int k = 0; k < count; k++) {
            INDArray v = Nd4j.ones(gram.size(0), 1);
            double lambda = 0;
            for (int it = 0; it < 5000; it++) {
                INDArray next = gram.mmul(v);
                double norm = next.norm2Number().doubleValue();
                v = next.divi(norm);
                if (Math.abs(norm - lambda) < 1e-15 * norm) {
                    lambda = norm;
                    break;
                }
                lambda = norm;
            }
            out[k] = Math.sqrt(lambda);
            gram = gram.sub(v.mmul(v.transpose()).muli(lambda));
        }
        return out;
    }
}
