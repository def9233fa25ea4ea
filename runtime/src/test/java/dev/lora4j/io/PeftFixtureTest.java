package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.api.BiasMode;
import dev.lora4j.api.LoraInit;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A real adapter saved by PEFT 0.20.0: DistilBERT fine-tuned on emotion with r=8, alpha=16 on
 * q_lin and v_lin, plus the classifier head in modules_to_save.
 */
class PeftFixtureTest {

    private static final String PREFIX = "base_model.model.";
    private static final String LAYER = PREFIX + "distilbert.transformer.layer.";

    @TempDir
    Path dir;

    private static Path fixture(String name) throws URISyntaxException {
        return Path.of(PeftFixtureTest.class.getResource("/fixtures/peft/distilbert-emotion/" + name).toURI());
    }

    @Test
    void adapterWeightsLoad() throws Exception {
        try (SafetensorsFile f = SafetensorsFile.open(fixture("adapter_model.safetensors"))) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertEquals(28, f.tensors().size());
            List<TensorInfo> lora = f.tensors().stream().filter(t -> t.name().contains(".lora_")).collect(Collectors.toList());
            assertEquals(24, lora.size(), "6 layers × {q_lin, v_lin} × {A, B}");
            for (int layer = 0; layer < 6; layer++) {
                for (String module : List.of("q_lin", "v_lin")) {
                    String base = LAYER + layer + ".attention." + module;
                    assertArrayEquals(new long[] {8, 768}, f.info(base + ".lora_A.weight").shape(), base);
                    assertArrayEquals(new long[] {768, 8}, f.info(base + ".lora_B.weight").shape(), base);
                }
            }
            for (TensorInfo t : f.tensors()) {
                assertEquals(DType.F32, t.dtype(), t.name());
            }
            assertArrayEquals(new long[] {6, 768}, f.info(PREFIX + "classifier.weight").shape());
            assertArrayEquals(new long[] {6}, f.info(PREFIX + "classifier.bias").shape());
            assertArrayEquals(new long[] {768, 768}, f.info(PREFIX + "pre_classifier.weight").shape());
            assertArrayEquals(new long[] {768}, f.info(PREFIX + "pre_classifier.bias").shape());
            // data in header (= name) order, back to back, covering the whole data section
            long end = 0;
            for (TensorInfo t : f.tensors()) {
                assertEquals(end, t.begin(), t.name());
                end = t.end();
            }
            assertEquals(2_970_648L, end);
            assertEquals(Files.size(fixture("adapter_model.safetensors")) - 8 - 3848, end);
        }
    }

    @Test
    void adapterValuesMatchAnIndependentDecode() throws Exception {
        // first values computed with Python's struct module straight from the file's bytes
        try (SafetensorsFile f = SafetensorsFile.open(fixture("adapter_model.safetensors"))) {
            INDArray a = f.read(LAYER + "0.attention.q_lin.lora_A.weight");
            assertEquals(DataType.FLOAT, a.dataType());
            assertEquals((float) 0.03576727956533432, a.getFloat(0, 0));
            assertEquals((float) 0.0253635011613369, a.getFloat(0, 1));
            assertEquals((float) -0.004829999525099993, a.getFloat(0, 2));
            assertEquals((float) 0.05023014545440674, a.getFloat(7, 767));
            assertEquals(152.1366375158143, a.ameanNumber().doubleValue() * 8 * 768, 1e-2);
            INDArray b = f.read(LAYER + "5.attention.v_lin.lora_B.weight");
            assertEquals((float) 0.01738789491355419, b.getFloat(0, 0));
            assertEquals((float) -0.006239075213670731, b.getFloat(767, 7));
            INDArray bias = f.read(PREFIX + "classifier.bias");
            assertEquals((float) 0.0015399390831589699, bias.getFloat(0));
            ByteBuffer raw = f.rawBytes(PREFIX + "classifier.bias");
            assertEquals(24, raw.remaining());
            assertEquals(bias.getFloat(5), raw.getFloat(20));
        }
    }

    @Test
    void configLoads() throws Exception {
        PeftAdapterConfig c = PeftAdapterConfig.read(fixture("adapter_config.json"));
        assertEquals("LORA", c.peftType());
        assertEquals(8, c.r());
        assertEquals(16.0, c.loraAlpha());
        assertEquals(0.1, c.loraDropout());
        assertEquals(Optional.of(TargetModules.names("q_lin", "v_lin")), c.targetModules());
        assertEquals(List.of("pre_classifier", "classifier", "classifier", "score"), c.modulesToSave());
        assertEquals(Optional.of("0.20.0"), c.peftVersion());
        assertEquals(Optional.of("SEQ_CLS"), c.taskType());
        assertEquals(Optional.of("distilbert-base-uncased"), c.baseModelNameOrPath());
        assertEquals(Optional.empty(), c.revision());
        assertEquals(Optional.empty(), c.excludeModules());
        assertEquals(BiasMode.NONE, c.bias());
        assertTrue(c.inferenceMode());
        assertFalse(c.useRslora());
        assertFalse(c.useDora());
        assertFalse(c.fanInFanOut());
        assertEquals(Optional.of(LoraInit.KAIMING_UNIFORM), c.loraInit());
        assertTrue(c.rankPattern().isEmpty());
        assertTrue(c.layersToTransform().isEmpty());
        String q = "distilbert.transformer.layer.3.attention.q_lin";
        assertEquals(8, c.rankFor(q));
        assertEquals(16.0, c.alphaFor(q));
        assertEquals(2.0, c.scalingFor(q));
        assertTrue(c.targets(q));
        assertTrue(c.targets("distilbert.transformer.layer.0.attention.v_lin"));
        assertFalse(c.targets("distilbert.transformer.layer.0.attention.k_lin"));
        assertFalse(c.targets("pre_classifier"));
        assertEquals(16, c.get("qalora_group_size").intValue(), "a field lora4j does not model is still there");
    }

    @Test
    void configAndWeightsAgree() throws Exception {
        PeftAdapterConfig c = PeftAdapterConfig.read(fixture("adapter_config.json"));
        try (SafetensorsFile f = SafetensorsFile.open(fixture("adapter_model.safetensors"))) {
            for (TensorInfo t : f.tensors()) {
                String name = t.name().substring(PREFIX.length());
                if (name.contains(".lora_A.")) {
                    String module = name.substring(0, name.indexOf(".lora_A."));
                    assertTrue(c.targets(module), module);
                    assertEquals(c.rankFor(module), t.shape()[0], module);
                } else if (!name.contains(".lora_B.")) {
                    String module = name.substring(0, name.lastIndexOf('.'));
                    assertTrue(c.modulesToSave().contains(module), module);
                }
            }
        }
    }

    @Test
    void configRoundTripKeepsEveryFieldAndEveryByte() throws Exception {
        Path source = fixture("adapter_config.json");
        PeftAdapterConfig c = PeftAdapterConfig.read(source);
        c.write(dir); // a directory: written as dir/adapter_config.json
        Path copy = dir.resolve(PeftAdapterConfig.FILE_NAME);
        ObjectMapper json = new ObjectMapper();
        JsonNode before = json.readTree(source.toFile());
        JsonNode after = json.readTree(copy.toFile());
        assertEquals(before, after);
        assertEquals(40, after.size());
        assertTrue(after.has("alora_invocation_tokens") && after.get("alora_invocation_tokens").isNull());
        assertEquals("megatron.core", after.get("megatron_core").textValue());
        // the fixture was saved on Windows (CRLF line ends); PEFT's formatting is otherwise matched exactly
        assertEquals(Files.readString(source).replace("\r\n", "\n"), Files.readString(copy),
                "written exactly as PEFT writes it");
        assertEquals(c, PeftAdapterConfig.read(dir));
    }
}
