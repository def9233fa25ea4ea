package dev.lora4j.samples.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.autograd.GradMode;
import dev.lora4j.io.AdapterFiles;
import dev.lora4j.io.AdapterSaveOptions;
import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The MiniLM classifier's adapter in PEFT's layout, through the runtime's {@code AdapterFiles}: the
 * keys PEFT uses for {@code sentence-transformers/all-MiniLM-L6-v2}, the head as {@code
 * modules_to_save}, and the same predictions after loading.
 */
class MiniLmAdapterFilesTest {

    private static final MiniLm.Config TINY = new MiniLm.Config(50, 8, 2, 2, 16, 12, 2, 1e-12, 0.1);
    private static final INDArray IDS = Nd4j.createFromArray(new long[][] {{1, 5, 9, 2, 0}, {1, 7, 3, 4, 2}});
    private static final INDArray MASK = Nd4j.createFromArray(new long[][] {{1, 1, 1, 1, 0}, {1, 1, 1, 1, 1}});

    private static LoraModel<MiniLmClassifier> adapted(long seed) {
        MiniLmClassifier model = new MiniLmClassifier(MiniLm.random(TINY, 3), 4, new Random(seed));
        model.eval();
        LoraModel<MiniLmClassifier> lora = Lora.wrap(model, LoraConfig.builder().rank(2).alpha(4)
                .targetModules("query", "value").modulesToSave(MiniLmClassifier.HEAD).seed(seed).build());
        // as if trained: B away from zero
        lora.layers().values().forEach(l -> l.adapter("default").b().value().assign(Nd4j.rand(l.adapter("default").b().shape())));
        return lora;
    }

    @Test
    void savesPeftKeysAndConfigAndLoadsBackToTheSamePredictions(@TempDir Path dir) throws Exception {
        LoraModel<MiniLmClassifier> trained = adapted(1);
        AdapterFiles.saveAdapter(trained, "default", dir,
                AdapterSaveOptions.defaults().withBaseModelNameOrPath(GenreFineTune.BASE_MODEL));

        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(AdapterFiles.WEIGHTS_FILE))) {
            TreeSet<String> keys = new TreeSet<>();
            file.tensors().forEach(t -> keys.add(t.name()));
            assertTrue(keys.contains("base_model.model.encoder.layer.0.attention.self.query.lora_A.weight"), keys.toString());
            assertTrue(keys.contains("base_model.model.encoder.layer.1.attention.self.value.lora_B.weight"), keys.toString());
            assertTrue(keys.contains("base_model.model.classifier.weight") && keys.contains("base_model.model.classifier.bias"));
            assertEquals(2 * 2 * 2 + 2, keys.size(), keys.toString());
            assertEquals(List.of(2L, 8L), List.of(file.info("base_model.model.encoder.layer.0.attention.self.query.lora_A.weight").shape()[0],
                    file.info("base_model.model.encoder.layer.0.attention.self.query.lora_A.weight").shape()[1]));
        }
        PeftAdapterConfig config = PeftAdapterConfig.read(dir.resolve(PeftAdapterConfig.FILE_NAME));
        assertEquals(2, config.r());
        assertEquals(4.0, config.loraAlpha());
        assertEquals(List.of("query", "value"), config.targetModules().orElseThrow().names());
        assertEquals(List.of("classifier"), config.modulesToSave());
        assertEquals(GenreFineTune.BASE_MODEL, config.baseModelNameOrPath().orElseThrow());

        LoraModel<MiniLmClassifier> other = adapted(2);
        assertNotEquals(logits(trained), logits(other), "different adapters and heads before loading");
        AdapterFiles.load(other, dir, "trained");
        other.setActiveAdapters("trained");
        assertEquals(logits(trained), logits(other), "the same predictions after loading as a second adapter");

        MiniLmClassifier plain = new MiniLmClassifier(MiniLm.random(TINY, 3), 4, new Random(5));
        plain.eval();
        LoraModel<MiniLmClassifier> loaded = Lora.load(plain, dir);
        assertEquals(logits(trained), logits(loaded), "the same predictions after loading onto the plain model");
    }

    @Test
    void annotationAdaptersAdoptedWithTheHeadSaveTheHeadAsModulesToSave(@TempDir Path dir) throws Exception {
        MiniLmClassifier model = new MiniLmClassifier(MiniLm.random(TINY, 3), 4, new Random(1));
        dev.lora4j.lora.internal.AnnotationInjector.injectTree(model);
        LoraModel<MiniLmClassifier> lora = Lora.adopt(model, MiniLmClassifier.HEAD);
        assertEquals(2 * 2 * 8 * (8 + 8) + 8 * 4 + 4, model.trainableParameterCount(), "r=8 adapters and the head");
        AdapterFiles.saveAdapter(lora, "default", dir, AdapterSaveOptions.defaults());
        PeftAdapterConfig config = PeftAdapterConfig.read(dir.resolve(PeftAdapterConfig.FILE_NAME));
        assertEquals(List.of("classifier"), config.modulesToSave());
        assertEquals(8, config.r());
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(AdapterFiles.WEIGHTS_FILE))) {
            assertTrue(file.contains("base_model.model.classifier.weight"));
            assertTrue(file.contains("base_model.model.encoder.layer.1.attention.self.value.lora_B.weight"));
            assertEquals(2 * 2 * 2 + 2, file.tensors().size());
        }
    }

    @SuppressWarnings("try")
    private static INDArray logits(LoraModel<MiniLmClassifier> lora) {
        try (GradMode.Scope ignored = GradMode.disable()) {
            return lora.model().forward(IDS, MASK).value().dup();
        }
    }
}
