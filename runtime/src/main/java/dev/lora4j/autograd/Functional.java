package dev.lora4j.autograd;

import dev.lora4j.autograd.internal.BackwardFunction;
import dev.lora4j.autograd.internal.DropoutKernel;
import dev.lora4j.autograd.internal.ExampleDropout;
import dev.lora4j.autograd.internal.Gemm;
import dev.lora4j.autograd.internal.LayerNormKernel;
import dev.lora4j.autograd.internal.OneDnnKernels;
import dev.lora4j.autograd.internal.Shapes;
import dev.lora4j.autograd.internal.StepMemory;
import dev.lora4j.autograd.internal.UniformBlock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scatter.ScatterAdd;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Fused layer functions with hand-written gradients: the building blocks the layers in
 * {@code dev.lora4j.nn} call, usable directly in a custom forward pass.
 */
public final class Functional {

    /** The value written to masked attention scores before the softmax. */
    public static final double MASKED_SCORE = -1e9;

    /** Causal masks by shape and type; read-only once made. */
    private static final Map<String, INDArray> CAUSAL_MASKS = new ConcurrentHashMap<>();

    private static final Tensor[] NO_TENSORS = new Tensor[0];
    private static final double[] NO_SCALINGS = new double[0];

    private Functional() {}

    /**
     * {@code x·Wᵀ + b} for {@code W [out, in]} (or {@code x·W + b} for {@code W [in, out]} when
     * {@code weightIsInOut}), applied to the last dimension of x. A frozen weight gets no
     * gradient computed at all.
     *
     * @param bias may be {@code null}
     */
    public static Tensor linear(Tensor x, Tensor weight, @Nullable Tensor bias, boolean weightIsInOut) {
        return LoraLinearOp.apply(x, weight, bias, weightIsInOut, NO_TENSORS, NO_TENSORS, NO_TENSORS, NO_SCALINGS);
    }

    /**
     * A linear layer with LoRA adapters in one operation:
     * {@code y = x·Wᵀ + b + Σᵢ sᵢ·(xᵢ·Aᵢᵀ)·Bᵢᵀ} ({@code x·W} when {@code weightIsInOut}), where
     * {@code inputs[i]} is x itself or a dropout of it, {@code a[i]} is {@code [r, in]} and
     * {@code b[i]} is {@code [out, r]}. The adapters' products accumulate into the base output; ΔW
     * is never formed and a frozen weight gets no gradient computed.
     *
     * @param bias may be {@code null}
     */
    public static Tensor linearWithLora(Tensor x, Tensor weight, @Nullable Tensor bias, boolean weightIsInOut,
            Tensor[] inputs, Tensor[] a, Tensor[] b, double[] scaling) {
        if (inputs.length != a.length || a.length != b.length || b.length != scaling.length) {
            throw new IllegalArgumentException("linearWithLora: " + inputs.length + " inputs, " + a.length + " A, "
                    + b.length + " B and " + scaling.length + " scalings must be as many");
        }
        return LoraLinearOp.apply(x, weight, bias, weightIsInOut, inputs, a, b, scaling);
    }

    /**
     * The term a DoRA adapter adds to a linear layer's output, as PEFT computes it: {@code (g − 1)·base
     * + g·lora}, where {@code g = magnitude / weightNorm} per output feature (the last dimension),
     * {@code base} is the layer's output without bias and {@code lora} the adapter's scaled LoRA
     * output. {@code weightNorm}, {@code ‖W + s·B·A‖} per output feature, is a constant: no gradient
     * flows through it (PEFT detaches it, as the DoRA paper recommends).
     *
     * @param magnitude {@code [out]}, DoRA's magnitude vector
     * @param weightNorm {@code [out]}
     * @see #doraTerm(Tensor, Tensor, Tensor, INDArray, int)
     */
    public static Tensor doraTerm(Tensor base, Tensor lora, Tensor magnitude, INDArray weightNorm) {
        return DoraOps.term(base, lora, magnitude, weightNorm, base.rank() - 1);
    }

    /**
     * {@link #doraTerm(Tensor, Tensor, Tensor, INDArray)} with the output features along {@code
     * featureAxis}, e.g. 1 for the channels of a convolution's {@code [N, C, H, W]} output.
     *
     * @param magnitude as many values as the output has features, in any shape (PEFT's convolution
     *     magnitude is {@code [1, out, 1, 1]})
     */
    public static Tensor doraTerm(Tensor base, Tensor lora, Tensor magnitude, INDArray weightNorm, int featureAxis) {
        return DoraOps.term(base, lora, magnitude, weightNorm, featureAxis);
    }

    /**
     * The LoRA update {@code s · (x·Aᵀ)·Bᵀ} for {@code A [r, in]}, {@code B [out, r]}, computed
     * through the rank-r bottleneck: ΔW = B·A is never formed.
     */
    public static Tensor loraDelta(Tensor x, Tensor a, Tensor b, double scaling) {
        long in = a.size(1);
        if (Shapes.last(x.shape()) != in) {
            throw new IllegalArgumentException("lora: input's last dimension is " + Shapes.last(x.shape())
                    + " but lora_A " + Arrays.toString(a.shape()) + " expects " + in);
        }
        INDArray rows = Shapes.asRows(x.value());
        INDArray h = Gemm.product(rows, a.value(), false, true);
        INDArray y = Gemm.product(h, b.value(), false, true);
        if (scaling != 1.0) {
            y.muli(scaling);
        }
        long[] outShape = Shapes.withLast(x.shape(), b.size(0));
        BackwardFunction step = g -> {
            INDArray gRows = Shapes.asRows(g);
            if (b.requiresGrad()) {
                b.accumulateGradient(Gemm.product(gRows, h, true, false).muli(scaling));
            }
            INDArray gh = Gemm.product(gRows, b.value(), false, false).muli(scaling);
            if (a.requiresGrad()) {
                a.accumulateGradient(Gemm.product(gh, rows, true, false));
            }
            if (x.requiresGrad()) {
                x.accumulateGradient(Gemm.product(gh, a.value(), false, false).reshape(x.shape()));
            }
        };
        return Tensor.result(Shapes.reshape(y, outShape), step, x, a, b);
    }

    /**
     * A 2-d convolution of {@code x [N, C, H, W]} with {@code weight [O, C/groups, kh, kw]} (PyTorch's
     * layout and semantics: cross-correlation, zero padding), giving {@code [N, O, OH, OW]}. Computed
     * as one matrix product over the whole batch on ND4J's im2col columns; a frozen weight gets no
     * gradient computed at all.
     *
     * @param bias {@code [O]}, or {@code null}
     */
    public static Tensor conv2d(Tensor x, Tensor weight, @Nullable Tensor bias, ConvGeometry geometry) {
        return ConvOps.conv2d(x, weight, bias, geometry);
    }

    /**
     * The LoRA update of a convolution as PEFT computes it, {@code s · B(A(x))}: A {@code [r, C, kh, kw]}
     * is a convolution with the base's kernel, stride, padding and dilation and one group; B
     * {@code [O, r/groups, 1, 1]} a 1×1 convolution with the base's groups. The rank-r
     * intermediate never becomes an NCHW array.
     */
    public static Tensor loraConv2d(Tensor x, Tensor a, Tensor b, double scaling, ConvGeometry geometry) {
        return ConvOps.loraConv2d(x, a, b, scaling, geometry);
    }

    /**
     * {@link #conv2d} plus the {@link #loraConv2d} updates of several adapters on the same input,
     * computed on one shared column matrix (one im2col forward, one col2im backward):
     * {@code conv(x, W) + b + Σ s_i · B_i(A_i(x))}. The adapters' A must have the weight's kernel
     * size.
     *
     * @param bias may be {@code null}
     * @param as the adapters' A, {@code [r_i, C, kh, kw]}
     * @param bs the adapters' B, {@code [O, r_i/groups, 1, 1]}
     * @param scalings the adapters' scalings
     */
    public static Tensor conv2dWithLora(Tensor x, Tensor weight, @Nullable Tensor bias, ConvGeometry geometry, Tensor[] as,
            Tensor[] bs, double[] scalings) {
        if (as.length != bs.length || as.length != scalings.length) {
            throw new IllegalArgumentException("conv2dWithLora: " + as.length + " A factors, " + bs.length + " B factors, "
                    + scalings.length + " scalings");
        }
        return ConvOps.conv2dWithLora(x, weight, bias, geometry, as, bs, scalings);
    }

    /**
     * Max pooling of {@code x [N, C, H, W]} over {@code kernelH × kernelW} windows (padding acts as
     * −∞; the geometry's groups must be 1). The gradient goes to the maximum of each window.
     */
    public static Tensor maxPool2d(Tensor x, int kernelH, int kernelW, ConvGeometry geometry) {
        return ConvOps.maxPool2d(x, kernelH, kernelW, geometry);
    }

    /**
     * Average pooling of {@code x [N, C, H, W]} over {@code kernelH × kernelW} windows.
     *
     * @param countIncludePad whether padded zeros count in the divisor (PyTorch's default)
     */
    public static Tensor avgPool2d(Tensor x, int kernelH, int kernelW, ConvGeometry geometry, boolean countIncludePad) {
        return ConvOps.avgPool2d(x, kernelH, kernelW, geometry, countIncludePad);
    }

    /**
     * Batch normalisation of {@code x [N, C, H, W]} per channel with scale {@code gamma [C]} and
     * shift {@code beta [C]}. With {@code batchStatistics} it normalises by the batch's mean and
     * (biased) variance over N, H and W and, when {@code runningMean}/{@code runningVar} are given,
     * updates them in place: {@code running ← (1 − momentum)·running + momentum·batch}, with the
     * unbiased variance (PyTorch's rule). Without, it normalises by the running statistics and
     * changes nothing; the gradient is then that of a fixed per-channel affine map.
     *
     * @param beta may be {@code null}
     */
    public static Tensor batchNorm2d(Tensor x, Tensor gamma, @Nullable Tensor beta, @Nullable INDArray runningMean,
            @Nullable INDArray runningVar, boolean batchStatistics, double momentum, double epsilon) {
        if (!batchStatistics && (runningMean == null || runningVar == null)) {
            throw new IllegalArgumentException("batchNorm2d without batch statistics needs running statistics");
        }
        return ConvOps.batchNorm2d(x, gamma, beta, runningMean, runningVar, batchStatistics, momentum, epsilon);
    }

    /**
     * Layer normalisation over the last dimension with a learned scale and shift ({@code beta} may
     * be {@code null}), in one pass forward and one backward: in float64 for float64 input
     * ({@link LayerNormKernel}), in float32 otherwise, by oneDNN's primitives ({@link
     * OneDnnKernels}) or where oneDNN is not used by {@link LayerNormKernel} (half-precision input is
     * computed in float32 and the results rounded back).
     */
    public static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, double epsilon) {
        long[] shape = x.shape();
        if (Shapes.last(shape) == 0) {
            throw new IllegalArgumentException("layerNorm over an empty dimension");
        }
        DataType work = x.dataType() == DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT;
        INDArray rows = as(Shapes.asRows(x.value()), work);
        if (work == DataType.FLOAT) {
            Tensor viaOneDnn = layerNormOneDnn(x, Shapes.plain(rows), gamma, beta, epsilon);
            if (viaOneDnn != null) {
                return viaOneDnn;
            }
        }
        INDArray y = Nd4j.createUninitialized(work, rows.shape());
        LayerNormKernel kernel = LayerNormKernel.forward(rows, as(gamma.value(), work),
                beta == null ? null : as(beta.value(), work), epsilon, y);
        BackwardFunction step = g -> {
            int width = Math.toIntExact(Shapes.last(shape));
            double[] dGamma = gamma.requiresGrad() ? new double[width] : null;
            double[] dBeta = beta != null && beta.requiresGrad() ? new double[width] : null;
            INDArray dx = x.requiresGrad() ? Nd4j.createUninitialized(work, rows.shape()) : null;
            kernel.backward(as(Shapes.asRows(g), work), as(gamma.value(), work), dx, dGamma, dBeta);
            if (dGamma != null) {
                gamma.accumulateGradient(Nd4j.createFromArray(dGamma).castTo(gamma.dataType()).reshape(gamma.shape()));
            }
            if (dBeta != null) {
                beta.accumulateGradient(Nd4j.createFromArray(dBeta).castTo(beta.dataType()).reshape(beta.shape()));
            }
            if (dx != null) {
                x.accumulateGradient(Shapes.reshape(as(dx, x.dataType()), shape));
            }
        };
        Tensor[] inputs = beta == null ? new Tensor[] {x, gamma} : new Tensor[] {x, gamma, beta};
        return Tensor.result(Shapes.reshape(as(y, x.dataType()), shape), step, inputs);
    }

    /** {@link #layerNorm} in float32 by oneDNN's primitives, or {@code null} where oneDNN is not used. */
    private static @Nullable Tensor layerNormOneDnn(Tensor x, INDArray rows, Tensor gamma, @Nullable Tensor beta,
            double epsilon) {
        long n = rows.size(0);
        long width = rows.size(1);
        INDArray scale = Shapes.plain(as(gamma.value(), DataType.FLOAT)).reshape(width);
        INDArray shift = beta == null ? Nd4j.zeros(DataType.FLOAT, width)
                : Shapes.plain(as(beta.value(), DataType.FLOAT)).reshape(width);
        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, n, width);
        INDArray mean = Nd4j.createUninitialized(DataType.FLOAT, n);
        INDArray variance = Nd4j.createUninitialized(DataType.FLOAT, n);
        if (!OneDnnKernels.layerNormForward(rows, scale, shift, epsilon, y, mean, variance)) {
            return null;
        }
        long[] shape = x.shape();
        BackwardFunction step = g -> {
            INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, n, width);
            INDArray dGamma = Nd4j.createUninitialized(DataType.FLOAT, width);
            INDArray dBeta = Nd4j.createUninitialized(DataType.FLOAT, width);
            INDArray gRows = Shapes.plain(as(Shapes.asRows(g), DataType.FLOAT));
            if (!OneDnnKernels.layerNormBackward(rows, scale, shift, mean, variance, gRows, epsilon, dx, dGamma, dBeta)) {
                throw new IllegalStateException("oneDNN's layer normalisation ran forward but not backward for "
                        + Arrays.toString(shape));
            }
            if (gamma.requiresGrad()) {
                gamma.accumulateGradient(as(dGamma, gamma.dataType()).reshape(gamma.shape()));
            }
            if (beta != null && beta.requiresGrad()) {
                beta.accumulateGradient(as(dBeta, beta.dataType()).reshape(beta.shape()));
            }
            if (x.requiresGrad()) {
                x.accumulateGradient(Shapes.reshape(as(dx, x.dataType()), shape));
            }
        };
        Tensor[] inputs = beta == null ? new Tensor[] {x, gamma} : new Tensor[] {x, gamma, beta};
        return Tensor.result(Shapes.reshape(as(y, x.dataType()), shape), step, inputs);
    }

    /** {@code a} itself when it has the type, else a copy cast to it. */
    static INDArray as(INDArray a, DataType type) {
        return a.dataType() == type ? a : a.castTo(type);
    }

    /**
     * Inverted dropout: each element is zeroed with probability p and the survivors scaled by
     * 1/(1−p). With p = 0 the input itself is returned. Inside a data-parallel training step the
     * mask is drawn per example instead of from {@code random}, the same however the batch is split.
     */
    public static Tensor dropout(Tensor x, double p, Random random) {
        if (p < 0 || p >= 1) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        }
        if (p == 0) {
            return x;
        }
        Random perExample = ExampleDropout.next(x.shape());
        Random generator = perExample != null ? perExample : random;
        if (x.dataType() == DataType.FLOAT) {
            INDArray out = Nd4j.createUninitialized(DataType.FLOAT, x.shape());
            DropoutKernel kernel = DropoutKernel.forward(x.value(), out, p, generator);
            return Tensor.result(out, g -> {
                INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, x.shape());
                kernel.backward(g, dx);
                x.accumulateGradient(dx);
            }, x);
        }
        INDArray mask = dropoutMask(Math.toIntExact(x.value().length()), p, generator, x.dataType()).reshape(x.shape());
        return Tensor.result(x.value().mul(mask), g -> x.accumulateGradient(g.mul(mask)), x);
    }

    /**
     * {@code n} values, each {@code 1/(1−p)} where {@code random.nextDouble() >= p} and 0 elsewhere,
     * drawn in order (in blocks when the generator is a {@link UniformBlock}) as an array of the type
     * (float64 or half; float32 dropout runs in {@link DropoutKernel}). A draw {@code m·2⁻⁵³} is at
     * least p exactly when {@code m} is at least {@code ⌈p·2⁵³⌉}, so the rule is applied to the
     * integers, without a branch.
     */
    private static INDArray dropoutMask(int n, double p, Random random, DataType type) {
        double keepScale = 1.0 / (1.0 - p);
        long threshold = (long) Math.ceil(p * 0x1.0p53);
        long[] draws = new long[Math.min(n, 4096)];
        UniformBlock block = random instanceof UniformBlock b ? b : null;
        double[] mask = new double[n];
        for (int start = 0; start < n; start += draws.length) {
            int count = Math.min(draws.length, n - start);
            DropoutKernel.draw(random, block, draws, count);
            for (int i = 0; i < count; i++) {
                mask[start + i] = keepScale * ((threshold - 1 - draws[i]) >>> 63);
            }
        }
        INDArray array = Nd4j.createFromArray(mask);
        return type == DataType.DOUBLE ? array : array.castTo(type);
    }

    /**
     * Looks up rows of {@code weight [vocabulary, dim]}: the result has the ids' shape plus a last
     * dimension of size dim. The gradient is scattered back into the looked-up rows.
     *
     * @param ids integer ids, any shape
     */
    public static Tensor embedding(INDArray ids, Tensor weight) {
        long vocabulary = weight.size(0);
        int[] flat = ids.reshape(ids.length()).toIntVector();
        for (int i = 0; i < flat.length; i++) {
            if (flat[i] < 0 || flat[i] >= vocabulary) {
                throw new IndexOutOfBoundsException("embedding id " + flat[i] + " at position " + i
                        + " is outside the vocabulary [0, " + vocabulary + ")");
            }
        }
        long dim = weight.size(1);
        INDArray rows = Nd4j.pullRows(weight.value(), 1, flat);
        long[] outShape = Arrays.copyOf(ids.shape(), ids.rank() + 1);
        outShape[ids.rank()] = dim;
        return Tensor.result(rows.reshape(outShape), g -> {
            // one native scatter-add: dW[ids[i]] += g[i] (repeated ids accumulate)
            INDArray gRows = g.reshape('c', flat.length, dim);
            INDArray zeros = Nd4j.zeros(weight.dataType(), weight.shape());
            INDArray dw = Nd4j.exec(new ScatterAdd(zeros, Nd4j.createFromArray(flat), gRows))[0];
            weight.accumulateGradient(dw);
        }, weight);
    }

    /**
     * Mean softmax cross-entropy of {@code logits [..., classes]} against integer targets (one per
     * row); rows whose target equals {@code ignoreIndex} count neither in the loss nor the mean.
     */
    public static Tensor crossEntropy(Tensor logits, int[] targets, int ignoreIndex) {
        INDArray rows = Shapes.asRows(logits.value());
        int classes = Math.toIntExact(rows.size(1));
        if (rows.size(0) != targets.length) {
            throw new IllegalArgumentException("crossEntropy: " + rows.size(0) + " rows of logits but "
                    + targets.length + " targets");
        }
        // log-probabilities in one native pass, then the picking done on a Java copy (no per-element native calls)
        double[] logProbabilities = SoftmaxOps.logSoftmaxRows(rows).castTo(DataType.DOUBLE).data().asDouble();
        double total = 0;
        int counted = 0;
        for (int i = 0; i < targets.length; i++) {
            if (targets[i] == ignoreIndex) {
                continue;
            }
            if (targets[i] < 0 || targets[i] >= classes) {
                throw new IndexOutOfBoundsException("target " + targets[i] + " at row " + i
                        + " is outside the classes [0, " + classes + ")");
            }
            total -= logProbabilities[i * classes + targets[i]];
            counted++;
        }
        int count = counted;
        INDArray out = Nd4j.scalar(logits.dataType(), count == 0 ? 0.0 : total / count);
        return Tensor.result(out, g -> {
            // d/dlogits = (softmax − onehot) / count on counted rows, 0 on ignored rows
            double factor = count == 0 ? 0.0 : g.getDouble(0) / count;
            double[] dx = new double[logProbabilities.length];
            for (int i = 0; i < targets.length; i++) {
                if (targets[i] == ignoreIndex) {
                    continue;
                }
                int base = i * classes;
                for (int c = 0; c < classes; c++) {
                    dx[base + c] = Math.exp(logProbabilities[base + c]) * factor;
                }
                dx[base + targets[i]] -= factor;
            }
            logits.accumulateGradient(Nd4j.createFromArray(dx).castTo(logits.dataType()).reshape(logits.shape()));
        }, logits);
    }

    /** Mean squared error between predictions and targets of the same shape. */
    public static Tensor mse(Tensor predictions, Tensor targets) {
        if (!Arrays.equals(predictions.shape(), targets.shape())) {
            throw new IllegalArgumentException("mse: predictions " + Arrays.toString(predictions.shape())
                    + " and targets " + Arrays.toString(targets.shape()) + " differ in shape");
        }
        Tensor diff = predictions.sub(targets);
        return diff.mul(diff).mean();
    }

    /**
     * Scaled dot-product attention over {@code [batch, heads, time, headDim]} inputs:
     * {@code softmax(q·kᵀ/√d + mask)·v}.
     *
     * @param causal whether position t may only attend to positions ≤ t
     * @param keyMask {@code [batch, time]} with 1 for real tokens and 0 for padding, or {@code null}
     */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, boolean causal, @Nullable INDArray keyMask) {
        long headDim = q.size(-1);
        INDArray[] masks = attentionMasks(q.size(-2), k.size(-2), q.dataType(), causal, keyMask);
        // the scores are a fresh product only this softmax reads: scaled, masked and normalised in place
        Tensor scores = q.matmulTransposed(k);
        return SoftmaxOps.scaledMaskedSoftmaxInPlace(scores, 1.0 / Math.sqrt(headDim), masks).matmul(v);
    }

    /** The additive masks of attention's scores: causal {@code [time, keys]} and padding {@code [batch, 1, 1, keys]}, as asked. */
    static INDArray[] attentionMasks(long time, long keys, DataType type, boolean causal,
            @Nullable INDArray keyMask) {
        return maskList(time, keys, type, causal, keyMask == null ? null : paddingMask(keyMask, type));
    }

    /** The causal mask {@code [time, keys]} if asked, then {@code padding} (a made {@link #paddingMask}) if any. */
    static INDArray[] maskList(long time, long keys, DataType type, boolean causal, @Nullable INDArray padding) {
        List<INDArray> masks = new ArrayList<>(2);
        if (causal) {
            masks.add(causalMask(time, keys, type));
        }
        if (padding != null) {
            masks.add(padding);
        }
        return masks.toArray(INDArray[]::new);
    }

    /**
     * Multi-head scaled dot-product attention over {@code [batch, time, features]} projections: the
     * same result as splitting q, k and v into {@code heads} heads ({@code [batch, heads, time,
     * features / heads]}), {@link #attention} and merging the heads back into {@code [batch, time,
     * features]}, without copying any head out of or back into that layout, forward or backward.
     *
     * @param keyMask {@code [batch, keys]} with 1 for real tokens and 0 for padding, or {@code null}
     * @throws IllegalArgumentException when the shapes do not fit or features do not split into heads
     */
    public static Tensor multiHeadAttention(Tensor q, Tensor k, Tensor v, int heads, boolean causal,
            @Nullable INDArray keyMask) {
        return AttentionOps.multiHead(q, k, v, heads, causal, keyMask);
    }

    /** {@code [time, keys]}: 0 where key ≤ query position, {@link #MASKED_SCORE} above. */
    @SuppressWarnings("try") // the scopes are used only for their close()
    static INDArray causalMask(long time, long keys, DataType type) {
        return CAUSAL_MASKS.computeIfAbsent(time + "x" + keys + ":" + type, k -> {
            try (MemoryWorkspace outside = StepMemory.outside()) { // cached: it outlives the step
                return causalMaskArray(time, keys, type);
            }
        });
    }

    private static INDArray causalMaskArray(long time, long keys, DataType type) {
        double[] mask = new double[Math.toIntExact(time * keys)];
        for (int t = 0; t < time; t++) {
            for (int s = t + 1; s < keys; s++) {
                mask[t * (int) keys + s] = MASKED_SCORE;
            }
        }
        return Nd4j.createFromArray(mask).castTo(type).reshape(time, keys);
    }

    /** {@code [batch, 1, 1, keys]}: 0 for real tokens, {@link #MASKED_SCORE} for padding. */
    static INDArray paddingMask(INDArray keyMask, DataType type) {
        INDArray m = keyMask.castTo(type).rsub(1.0).muli(MASKED_SCORE);
        return m.reshape(keyMask.size(0), 1, 1, keyMask.size(1));
    }
}
