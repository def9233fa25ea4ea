package dev.lora4j.it.bench;

/**
 * The model FLOPs of one LoRA training step of a BERT encoder with a mean-pooled classifier head,
 * counted as the GEMMs the step computes (a multiply-add is 2 FLOPs; element-wise work, softmax,
 * LayerNorm and the optimizer are not counted). A model that computes every padded position (PyTorch's
 * peer) has {@code T = batch·length} token positions; one that packs the real tokens (lora4j's
 * MiniLM, {@code PackedTokens}) computes its token-wise GEMMs for the real tokens only, {@code T} of
 * them, and attention still over the padded length.
 *
 * <p>With {@code T} computed token positions, hidden {@code H}, feed-forward {@code F},
 * adapter rank {@code r} on {@code adapted} of the four attention projections, {@code C} classes:
 * <ul>
 *   <li><b>forward</b>, per layer: {@code 2·T·H·(4H + 2F)} for the projections and the
 *       feed-forward block, {@code 2·2·batch·length²·H} for the attention scores and the context,
 *       {@code adapted·2·2·T·H·r} for the adapters' two thin GEMMs; and {@code 2·batch·H·C} for the
 *       head;</li>
 *   <li><b>backward, input gradients</b>: each product again for every operand that needs a
 *       gradient: a weight product once, an activation·activation product (scores, context)
 *       twice. The lowest layer's input comes from the frozen embeddings and needs none, so there
 *       its four projections' input gradients, its key gradient (through the scores) and its
 *       adapters' {@code x}-gradients are not needed (nor computed); the head's input gradient
 *       {@code 2·batch·H·C};</li>
 *   <li><b>backward, weight gradients</b>: only the adapters' ({@code 2·2·T·H·r} each) and the
 *       head's ({@code 2·batch·H·C}); a frozen weight needs no weight-gradient GEMM.</li>
 * </ul>
 *
 * @param layers encoder layers
 * @param hidden hidden size H
 * @param intermediate feed-forward size F
 * @param rank adapter rank r
 * @param adapted adapted projections per layer (2: query and value)
 * @param classes head outputs C
 */
public record EncoderFlops(int layers, long hidden, long intermediate, long rank, int adapted, long classes) {

    /**
     * FLOPs of each part of one step.
     *
     * @param forward the forward GEMMs
     * @param inputGradients the backward GEMMs that carry gradients to activations
     * @param weightGradients the backward GEMMs that give the trainable weights' gradients
     */
    public record Count(double forward, double inputGradients, double weightGradients) {
        /** The whole step. */
        public double total() {
            return forward + inputGradients + weightGradients;
        }
    }

    /** The step's FLOPs for a batch of {@code batch} sequences padded to {@code length}, every position computed. */
    public Count count(long batch, long length) {
        return count(batch, length, batch * length);
    }

    /**
     * The step's FLOPs for a batch of {@code batch} sequences padded to {@code length} whose
     * token-wise GEMMs are computed for {@code tokens} positions (the real tokens, when packed).
     */
    public Count count(long batch, long length, long tokens) {
        double t = tokens;
        double h = hidden;
        double projections = 2 * t * h * 4 * h;
        double feedForward = 2 * t * h * 2 * intermediate;
        double attentionProduct = 2.0 * batch * length * length * h; // one of q·kᵀ or p·v over all heads
        double adapterGemm = 2 * t * h * rank; // one of the adapter's two thin GEMMs
        double head = 2.0 * batch * h * classes;

        double forwardLayer = projections + feedForward + 2 * attentionProduct + adapted * 2 * adapterGemm;
        double forward = layers * forwardLayer + head;

        // upper layers: every operand needs its gradient
        double upperInput = projections + feedForward + 4 * attentionProduct + adapted * 2 * adapterGemm;
        // lowest layer: no input gradient for the projections' x (frozen embeddings below), none for the key
        double lowestInput = 2 * t * h * h + feedForward // the attention output projection, the feed-forward block
                + 3 * attentionProduct // d(probabilities), d(value) through the context; d(query) through the scores
                + adapted * adapterGemm; // g·B for the adapters' A gradient; no (g·B)·A
        double inputGradients = (layers - 1) * upperInput + lowestInput + head; // the head's input (the pooled states)
        double weightGradients = layers * adapted * 2 * adapterGemm + head;
        return new Count(forward, inputGradients, weightGradients);
    }

    /** The encoder's weights in matrix products (projections, feed-forward; no embeddings, biases, norms). */
    public double matrixParameters() {
        return layers * (4.0 * hidden * hidden + 2.0 * hidden * intermediate);
    }

    /**
     * The conventional estimate {@code 6·N·tokens} for full training, N the {@link #matrixParameters}
     * plus the head, over the padded positions; attention products are not in it. Shown beside the
     * counted figure for comparison only.
     */
    public double conventional(long batch, long length) {
        return 6.0 * (matrixParameters() + hidden * classes) * batch * length;
    }
}
