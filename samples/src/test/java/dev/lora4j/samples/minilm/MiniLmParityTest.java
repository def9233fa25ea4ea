package dev.lora4j.samples.minilm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.lora4j.autograd.GradMode;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The lora4j forward pass against ONNX Runtime running the same ONNX file on the same ids. */
class MiniLmParityTest {

    private static final double TOLERANCE = 1e-4;

    @SuppressWarnings("try") // the scope is only opened and closed
    @Test
    void lastHiddenStateMatchesOnnxRuntimeOnAPaddedBatch() throws Exception {
        List<String> texts = List.of(
                "Hello world",
                "The quick brown fox jumps over the lazy dog, then naps in the afternoon sun.",
                "LoRA adapts a frozen encoder with low-rank updates.",
                "ok");
        MiniLmTokenizer.Batch batch;
        try (MiniLmTokenizer tokenizer = MiniLmTokenizer.create()) {
            batch = tokenizer.encode(texts);
        }
        long[][] mask = batch.attentionMask().toLongMatrix();
        assertTrue(mask[0][mask[0].length - 1] == 0 && mask[3][mask[3].length - 1] == 0, "the batch is padded");

        float[][][] expected = runOnnxRuntime(batch.ids(), mask);

        MiniLm model = Pretrained.model();
        INDArray actual;
        try (GradMode.Scope ignored = GradMode.disable()) {
            actual = model.forward(batch.inputIds(), batch.attentionMask()).value();
        }
        INDArray reference = Nd4j.createFromArray(expected);
        assertArrayEquals(reference.shape(), actual.shape());

        // every position, padding included: ONNX Runtime computes those rows too
        double maxAll = Nd4j.math().abs(actual.sub(reference)).maxNumber().doubleValue();
        INDArray tokenMask = batch.attentionMask().castTo(DataType.FLOAT).reshape(texts.size(), batch.length(), 1);
        double maxTokens = Nd4j.math().abs(actual.sub(reference).muli(tokenMask)).maxNumber().doubleValue();
        System.out.printf("MiniLm vs ONNX Runtime, %d texts x %d tokens: max |diff| %.3g (tokens), %.3g (all)%n",
                texts.size(), batch.length(), maxTokens, maxAll);
        assertTrue(maxAll < TOLERANCE, "max abs difference " + maxAll);
    }

    private static float[][][] runOnnxRuntime(long[][] ids, long[][] mask) throws Exception {
        byte[] bytes;
        try (InputStream in = MiniLmParityTest.class.getClassLoader().getResourceAsStream(OnnxWeights.MINILM_RESOURCE)) {
            bytes = in.readAllBytes();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            try (OrtSession session = env.createSession(bytes, options);
                    OnnxTensor inputIds = OnnxTensor.createTensor(env, ids);
                    OnnxTensor attentionMask = OnnxTensor.createTensor(env, mask);
                    OnnxTensor tokenTypes = OnnxTensor.createTensor(env, new long[ids.length][ids[0].length]);
                    OrtSession.Result result = session.run(Map.of(
                            "input_ids", inputIds, "attention_mask", attentionMask, "token_type_ids", tokenTypes))) {
                return (float[][][]) result.get("last_hidden_state").orElseThrow().getValue();
            }
        }
    }
}
