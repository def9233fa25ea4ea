package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.lora.AdapterSettings;
import dev.lora4j.lora.LoraLayer;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.Bitwise;
import dev.lora4j.testing.DistilBertLike;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The real adapter PEFT 0.20.0 saved for DistilBERT on emotion (r=8, alpha=16 on q_lin and v_lin,
 * pre_classifier and classifier in modules_to_save) loads into a DistilBERT-shaped lora4j model,
 * and every merged weight equals W + (alpha/r)·B·A computed independently in float64.
 */
class AdapterFilesFixtureTest {

    /** float32 weights of magnitude ≈ 0.04, an 8-term float32 product: the merge is within 1e-6. */
    private static final double TOLERANCE = 1e-6;

    static Path fixture() throws URISyntaxException {
        return Path.of(AdapterFilesFixtureTest.class.getResource("/fixtures/peft/distilbert-emotion").toURI());
    }

    static List<String> adaptedPaths() {
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            paths.add("distilbert.transformer.layer." + i + ".attention.q_lin");
            paths.add("distilbert.transformer.layer." + i + ".attention.v_lin");
        }
        return paths;
    }

    @Test
    void realPeftAdapterLoadsAndEveryMergedWeightMatchesAnIndependentFloat64Computation() throws Exception {
        DistilBertLike model = DistilBertLike.forFixture(7);
        Map<String, INDArray> base = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> base.put(name, p.value().dup()));

        LoraModel<DistilBertLike> lora = Lora.load(model, fixture());

        assertEquals(adaptedPaths(), List.copyOf(lora.layers().keySet()));
        assertEquals(List.of("default"), lora.activeAdapters());
        for (LoraLayer layer : lora.layers().values()) {
            AdapterSettings spec = layer.adapter("default").spec();
            assertEquals(8, spec.rank());
            assertEquals(16.0, spec.alpha());
            assertEquals(2.0, spec.scaling());
        }
        assertEquals(List.of("pre_classifier", "classifier"), List.copyOf(lora.modulesToSave().keySet()));
        model.namedParameters().forEach((name, p) -> assertEquals(name.contains(".lora_")
                || name.startsWith("classifier.") || name.startsWith("pre_classifier."), p.isTrainable(), name));

        try (SafetensorsFile file = SafetensorsFile.open(fixture().resolve("adapter_model.safetensors"))) {
            for (String path : adaptedPaths()) {
                double[][] w = base.get(path + ".weight").toDoubleMatrix();
                double[][] a = file.read("base_model.model." + path + ".lora_A.weight").toDoubleMatrix();
                double[][] b = file.read("base_model.model." + path + ".lora_B.weight").toDoubleMatrix();
                double[][] expected = new double[w.length][w[0].length];
                for (int i = 0; i < w.length; i++) {
                    for (int j = 0; j < w[0].length; j++) {
                        double sum = 0;
                        for (int k = 0; k < a.length; k++) {
                            sum += b[i][k] * a[k][j];
                        }
                        expected[i][j] = w[i][j] + (16.0 / 8.0) * sum;
                    }
                }
                double[][] merged = lora.layers().get(path).mergedWeight(List.of("default")).toDoubleMatrix();
                double diff = maxAbsDiff(expected, merged);
                assertTrue(diff < TOLERANCE, path + ": merged weight differs from W + 2·B·A by " + diff);
                double deltaNorm = maxAbsDiff(expected, w);
                assertTrue(deltaNorm > 1e-3, path + ": the adapter must change the weight (max |ΔW| " + deltaNorm + ")");
            }
            for (String name : List.of("classifier.weight", "classifier.bias", "pre_classifier.weight", "pre_classifier.bias")) {
                Parameter p = model.namedParameters().get(name);
                assertTrue(Bitwise.equal(file.read("base_model.model." + name), p.value()), name + " holds the saved module's values");
            }
        }

        lora.merge();
        for (String path : adaptedPaths()) {
            INDArray live = model.namedParameters().get(path + ".weight").value();
            INDArray expected = lora.layers().get(path).baseWeight().value();
            assertTrue(Bitwise.equal(expected, live));
        }
        lora.unmerge();
        lora.disableAdapters();
        assertTrue(Bitwise.equal(base.get("classifier.weight"), model.classifier.weight().value()),
                "with adapters off, modules_to_save show the base values again");
    }

    @Test
    void aLoadedPeftAdapterKeepsEveryConfigFieldThroughASave(@org.junit.jupiter.api.io.TempDir Path out) throws Exception {
        LoraModel<DistilBertLike> lora = Lora.load(DistilBertLike.forFixture(7), fixture());
        Lora.save(lora, out);
        com.fasterxml.jackson.databind.JsonNode original = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(fixture().resolve("adapter_config.json").toFile());
        com.fasterxml.jackson.databind.JsonNode saved = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(out.resolve("adapter_config.json").toFile());
        List<String> lost = new ArrayList<>();
        original.fieldNames().forEachRemaining(name -> {
            if (!saved.has(name)) {
                lost.add(name);
            }
        });
        assertEquals(List.of(), lost, "fields of PEFT's file missing after load + save");
        for (String field : List.of("task_type", "base_model_name_or_path", "peft_version", "r", "lora_alpha",
                "target_modules", "alora_invocation_tokens", "megatron_core")) {
            assertEquals(original.get(field), saved.get(field), field);
        }
    }

    static double maxAbsDiff(double[][] x, double[][] y) {
        double max = 0;
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[i].length; j++) {
                max = Math.max(max, Math.abs(x[i][j] - y[i][j]));
            }
        }
        return max;
    }
}
