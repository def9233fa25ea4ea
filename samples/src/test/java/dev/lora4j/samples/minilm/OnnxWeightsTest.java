package dev.lora4j.samples.minilm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.nn.Parameter;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import onnx.Onnx.GraphProto;
import onnx.Onnx.ModelProto;
import onnx.Onnx.NodeProto;
import onnx.Onnx.TensorProto;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.protobuf.ByteString;

class OnnxWeightsTest {

    @Test
    void everyParameterOfTheModelComesFromTheGraphWithItsShape() {
        OnnxWeights weights = Pretrained.weights();
        System.out.print(weights.describe());
        MiniLm model = Pretrained.model();
        Map<String, Parameter> parameters = model.namedParameters();

        // 5 embedding tensors + 16 per layer (6 linear weights and biases, 2 LayerNorms)
        assertEquals(5 + 6 * 16, parameters.size());
        assertEquals(new TreeSet<>(weights.tensors().keySet()), new TreeSet<>(parameters.keySet()),
                "the graph's tensors and the model's parameters are the same set of names");
        parameters.forEach((name, p) ->
                assertArrayEquals(weights.tensors().get(name).shape(), p.shape(), name));
        assertEquals(22_565_376L, model.parameterCount(), "all-MiniLM-L6-v2 without its pooler");
    }

    @Test
    void linearWeightsAreTheTransposedMatMulInputsOfTheirOwnLayer() {
        OnnxWeights weights = Pretrained.weights();
        Set<String> linears = Set.of("attention.self.query", "attention.self.key", "attention.self.value",
                "attention.output.dense", "intermediate.dense", "output.dense");
        for (int i = 0; i < 6; i++) {
            for (String linear : linears) {
                String path = "encoder.layer." + i + "." + linear;
                OnnxWeights.Source source = weights.sources().get(path + ".weight");
                assertTrue(source.transposed(), path);
                assertEquals("/encoder/layer." + i + "/" + linear.replace('.', '/') + "/MatMul", source.node(), path);
            }
        }
        assertArrayEquals(new long[] {1536, 384}, weights.tensors().get("encoder.layer.3.intermediate.dense.weight").shape());
        assertArrayEquals(new long[] {384, 1536}, weights.tensors().get("encoder.layer.3.output.dense.weight").shape());
    }

    @Test
    void anonymousWeightsAndBiasesAreFoundThroughTheirNodes() throws Exception {
        // y = x·W + b as an exporter writes it: W [in=2, out=3] anonymous, the bias anonymous too
        GraphProto graph = GraphProto.newBuilder()
                .addInitializer(floats("onnx::MatMul_1", new long[] {2, 3}, 1, 2, 3, 4, 5, 6))
                .addInitializer(floats("onnx::Add_2", new long[] {3}, 7, 8, 9))
                .addInitializer(floats("onnx::Mul_3", new long[] {3}, 1, 1, 1))
                .addInitializer(floats("onnx::Add_4", new long[] {3}, 0, 0, 0))
                .addNode(node("MatMul", "/enc/dense/MatMul", "x", "onnx::MatMul_1", "mm"))
                .addNode(node("Add", "/enc/dense/Add", "onnx::Add_2", "mm", "y"))
                .addNode(node("Mul", "/enc/LayerNorm/Mul", "y", "onnx::Mul_3", "m"))
                .addNode(node("Add", "/enc/LayerNorm/Add_1", "m", "onnx::Add_4", "out"))
                .build();
        byte[] bytes = ModelProto.newBuilder().setGraph(graph).build().toByteArray();
        OnnxWeights weights = OnnxWeights.read(new ByteArrayInputStream(bytes), "test.onnx");

        INDArray w = weights.require("enc.dense.weight", 3, 2);
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, w.dup('c').data().asFloat(), "[out, in]");
        assertArrayEquals(new float[] {7, 8, 9}, weights.require("enc.dense.bias", 3).data().asFloat());
        assertEquals("onnx::Mul_3", weights.sources().get("enc.LayerNorm.weight").initializer());
        assertEquals("onnx::Add_4", weights.sources().get("enc.LayerNorm.bias").initializer());

        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> weights.require("enc.other.weight", 3, 2));
        assertTrue(missing.getMessage().contains("enc.other.weight"), missing.getMessage());
        IllegalArgumentException wrongShape = assertThrows(IllegalArgumentException.class,
                () -> weights.require("enc.dense.weight", 2, 3));
        assertTrue(wrongShape.getMessage().contains("enc.dense.weight has shape [3, 2]"), wrongShape.getMessage());
        IllegalArgumentException modelMissing = assertThrows(IllegalArgumentException.class,
                () -> MiniLm.pretrained(weights));
        assertTrue(modelMissing.getMessage().contains("embeddings.word_embeddings.weight"), modelMissing.getMessage());
    }

    @Test
    void aFileOfKnownSizeIsReadThroughNativeMemoryWithTheSameTensorsAndAWrongSizeIsNamed() throws Exception {
        GraphProto graph = GraphProto.newBuilder()
                .addInitializer(floats("onnx::MatMul_1", new long[] {2, 3}, 1, 2, 3, 4, 5, 6))
                .addInitializer(floats("enc.LayerNorm.weight", new long[] {3}, 0.5f, -1, 2))
                .addNode(node("MatMul", "/enc/dense/MatMul", "x", "onnx::MatMul_1", "mm"))
                .build();
        byte[] bytes = ModelProto.newBuilder().setGraph(graph).build().toByteArray();
        OnnxWeights onHeap = OnnxWeights.read(new ByteArrayInputStream(bytes), "heap.onnx");
        OnnxWeights sized = OnnxWeights.read(new ByteArrayInputStream(bytes), bytes.length, "sized.onnx");
        assertEquals(onHeap.tensors().keySet(), sized.tensors().keySet());
        onHeap.tensors().forEach((name, t) -> assertEquals(t, sized.tensors().get(name), name));
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, sized.require("enc.dense.weight", 3, 2).data().asFloat(),
                "copied out before the file's native buffer is freed");

        java.io.IOException shorter = assertThrows(java.io.IOException.class,
                () -> OnnxWeights.read(new ByteArrayInputStream(bytes), bytes.length + 5, "short.onnx"));
        assertTrue(shorter.getMessage().startsWith("short.onnx: expected " + (bytes.length + 5) + " bytes, the stream ended after "
                + bytes.length), shorter.getMessage());
        java.io.IOException longer = assertThrows(java.io.IOException.class,
                () -> OnnxWeights.read(new ByteArrayInputStream(bytes), bytes.length - 1, "long.onnx"));
        assertTrue(longer.getMessage().contains("long.onnx: expected " + (bytes.length - 1) + " bytes, the stream holds more"),
                longer.getMessage());
    }

    private static TensorProto floats(String name, long[] dims, float... values) {
        ByteBuffer raw = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            raw.putFloat(v);
        }
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .setRawData(ByteString.copyFrom(raw.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    private static NodeProto node(String op, String name, String in0, String in1, String out) {
        return NodeProto.newBuilder().setOpType(op).setName(name).addInput(in0).addInput(in1).addOutput(out).build();
    }
}
