package dev.lora4j.samples.minilm;

/** The ONNX weights, read once per test JVM (about 2 s) and shared by the test classes. */
final class Pretrained {

    private static OnnxWeights weights;

    private Pretrained() {}

    static synchronized OnnxWeights weights() {
        if (weights == null) {
            weights = OnnxWeights.minilm();
        }
        return weights;
    }

    /** A fresh model with its own copy of the weights. */
    static MiniLm model() {
        return MiniLm.pretrained(weights());
    }
}
