package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.LoraInit;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.Parameter;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class LoraEmbeddingTest {

    private static final INDArray IDS = Nd4j.createFromArray(new int[][] {{0, 3, 3, 9}, {5, 1, 0, 2}});

    @Test
    void defaultInitStartsAtTheBaseTable() {
        Embedding table = new Embedding(10, 6, new Random(1));
        INDArray before = table.forward(IDS).value().dup();
        LoraAdapter adapter = LoraLayers.attach(table).addAdapter("default",
                new AdapterSettings(4, 8, 0, false, LoraInit.KAIMING_UNIFORM), new Random(2));
        assertArrayEquals(new long[] {4, 10}, adapter.a().shape(), "lora_embedding_A is [r, vocabulary]");
        assertArrayEquals(new long[] {6, 4}, adapter.b().shape(), "lora_embedding_B is [dim, r]");
        assertEquals(0.0, adapter.a().value().norm1Number().doubleValue(), "A starts at zero");
        assertTrue(adapter.b().value().norm1Number().doubleValue() > 0, "B starts normal");
        assertEquals(before, table.forward(IDS).value());
        assertTrue(table.namedParameters().containsKey("lora_embedding_A.default.weight"));
    }

    @Test
    void updateIsScaledRowsOfATransposedTimesBTransposed() {
        INDArray w = Nd4j.randn(3L, new long[] {10, 6}).castTo(DataType.DOUBLE);
        Embedding table = new Embedding(new Parameter(w.dup()));
        LoraAdapter adapter = LoraLayers.attach(table).addAdapter("default",
                new AdapterSettings(3, 6, 0, false, LoraInit.RANDOM), new Random(4));
        INDArray y = table.forward(IDS).value();
        INDArray delta = adapter.a().value().transpose().mmul(adapter.b().value().transpose()).mul(2.0); // [10, 6]
        for (int n = 0; n < 2; n++) {
            for (int t = 0; t < 4; t++) {
                int id = IDS.getInt(n, t);
                for (int d = 0; d < 6; d++) {
                    assertEquals(w.getDouble(id, d) + delta.getDouble(id, d), y.getDouble(n, t, d), 1e-12);
                }
            }
        }
        LoraLayers.of(table).merge(List.of("default"));
        assertTrue(w.add(delta).sub(table.weight().value()).amaxNumber().doubleValue() < 1e-12);
        assertTrue(y.sub(table.forward(IDS).value()).amaxNumber().doubleValue() < 1e-12);
        LoraLayers.of(table).unmerge(List.of("default"));
        assertTrue(w.sub(table.weight().value()).amaxNumber().doubleValue() < 1e-12);
    }
}
