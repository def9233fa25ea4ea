package dev.lora4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.api.LoraInit;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The model-free merge agrees with lora4j's own in-model merge for the transposed cases: an
 * embedding adapter and GPT-2-style fan-in-fan-out layers (weights stored {@code [in, out]}), with
 * base tensor names that carry a {@code transformer.} wrapper the adapter's module paths lack.
 */
class CheckpointMergerTest {

    /** GPT-2's layout: {@code wte} and {@code h.{i}.c_attn} stored [in, out]. */
    static final class GptLike extends Module {
        final Embedding wte;
        final List<Block> h = new java.util.ArrayList<>();

        static final class Block extends Module {
            final Linear c_attn;

            Block(int dim) {
                c_attn = new Linear(new Parameter(Nd4j.rand(DataType.FLOAT, dim, 3L * dim).subi(0.5)),
                        new Parameter(Nd4j.rand(DataType.FLOAT, 3L * dim)), true);
            }
        }

        GptLike(int vocabulary, int dim, int layers) {
            Nd4j.getRandom().setSeed(4);
            wte = new Embedding(new Parameter(Nd4j.rand(DataType.FLOAT, vocabulary, dim)));
            for (int i = 0; i < layers; i++) {
                h.add(new Block(dim));
            }
        }
    }

    @TempDir
    Path tmp;

    @Test
    void embeddingAndFanInFanOutAdaptersMergeLikeTheInModelMerge() throws Exception {
        GptLike model = new GptLike(20, 8, 2);
        Map<String, INDArray> checkpoint = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> checkpoint.put("transformer." + name, p.value().dup()));
        Path base = tmp.resolve("model.safetensors");
        SafetensorsWriter.write(base, checkpoint, Map.of("format", "pt"));

        LoraModel<GptLike> lora = Lora.wrap(model, LoraConfig.builder().rank(3).alpha(5).targetModules("wte", "c_attn")
                .fanInFanOut(true).init(LoraInit.RANDOM).seed(8).build());
        Path adapter = tmp.resolve("adapter");
        Lora.save(lora, adapter);
        lora.merge();

        CheckpointMerger.Result result = CheckpointMerger.merge(base, adapter, tmp.resolve("merged.safetensors"));
        assertEquals(Map.of("wte", "transformer.wte.weight", "h.0.c_attn", "transformer.h.0.c_attn.weight",
                "h.1.c_attn", "transformer.h.1.c_attn.weight"), result.merged());
        assertEquals(2, result.copied(), "the two biases");
        try (SafetensorsFile merged = SafetensorsFile.open(tmp.resolve("merged.safetensors"))) {
            for (String name : List.of("wte.weight", "h.0.c_attn.weight", "h.1.c_attn.weight")) {
                INDArray inModel = model.namedParameters().get(name).value();
                INDArray fromFile = merged.read("transformer." + name);
                double diff = fromFile.sub(inModel).amaxNumber().doubleValue();
                assertTrue(diff < 1e-6, name + " differs from the in-model merge by " + diff);
                assertTrue(fromFile.sub(checkpoint.get("transformer." + name)).amaxNumber().doubleValue() > 1e-3,
                        name + " must change");
            }
        }
    }
}
