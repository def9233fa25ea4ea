package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.autograd.Tensor;
import dev.lora4j.nn.AdaptableLayer;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerAdapters;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Parameter;
import dev.lora4j.nn.internal.AdapterAttachments;
import java.util.Random;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** {@link LoraLayers}: the one place LoRA's adapters are made for a layer and read back. */
class LoraLayersTest {

    /** Adapters of another kind than LoRA's, which a layer may carry just as well. */
    private static final class Foreign implements LayerAdapters.OnInput {
        @Override
        public void visitParameters(BiConsumer<String, Parameter> visitor) {}

        @Override
        public void visitGenerators(BiConsumer<String, Random> visitor) {}

        @Override
        public Tensor forward(Tensor x, boolean training) {
            return x;
        }
    }

    /** An adaptable layer LoRA has no adapters for. */
    private static final class Custom extends AdaptableLayer<LayerAdapters> {
        private final Parameter weight = new Parameter(Nd4j.zeros(DataType.FLOAT, 2, 2));

        @Override
        public Parameter weight() {
            return weight;
        }
    }

    @Test
    void attachingMakesTheAdaptersOnceAndEveryWayReadsTheSameOnes() {
        Linear linear = new Linear(5, 3);
        assertNull(LoraLayers.of(linear), "none before");
        LoraLinear typed = LoraLayers.attach(linear);
        assertSame(typed, LoraLayers.attach(linear), "attached once");
        assertSame(typed, LoraLayers.attach((AdaptableLayer<?>) linear), "the same through the general method");
        assertSame(typed, LoraLayers.of((AdaptableLayer<?>) linear));
        assertSame(typed, linear.adapters(), "the layer holds them");

        Embedding table = new Embedding(7, 4);
        assertInstanceOf(LoraEmbedding.class, LoraLayers.attach((AdaptableLayer<?>) table), "the kind the type takes");
        AdapterAttachments.detach(linear);
        assertNull(LoraLayers.of(linear));
    }

    @Test
    void factorShapesAttachNothing() {
        Linear linear = new Linear(5, 3);
        long[][] shapes = LoraLayers.factorShapes(linear, 2);
        assertArrayEquals(new long[] {2, 5}, shapes[0], "A [r, in]");
        assertArrayEquals(new long[] {3, 2}, shapes[1], "B [out, r]");
        assertNull(LoraLayers.of(linear));
    }

    @Test
    void aLayerWithOtherAdaptersOrOfAnotherKindIsNamed() {
        Linear linear = new Linear(5, 3);
        AdapterAttachments.attach(linear, Foreign::new);
        IllegalStateException foreign = assertThrows(IllegalStateException.class, () -> LoraLayers.of(linear));
        assertTrue(foreign.getMessage().contains(Foreign.class.getName()) && foreign.getMessage().contains("LoraLinear"),
                foreign.getMessage());
        assertThrows(IllegalStateException.class, () -> LoraLayers.attach(linear));

        IllegalArgumentException custom = assertThrows(IllegalArgumentException.class,
                () -> LoraLayers.attach(new Custom()));
        assertTrue(custom.getMessage().contains(Custom.class.getName()), custom.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LoraLayers.factorShapes(new Custom(), 2));
    }
}
