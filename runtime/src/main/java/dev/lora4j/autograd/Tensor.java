package dev.lora4j.autograd;

import dev.lora4j.autograd.internal.BackwardFunction;
import dev.lora4j.autograd.internal.BackwardMemory;
import dev.lora4j.autograd.internal.GradientSink;
import dev.lora4j.autograd.internal.OneDnnKernels;
import dev.lora4j.autograd.internal.Shapes;
import dev.lora4j.autograd.internal.StepMemory;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * An ND4J array that remembers how it was computed, so that {@link #backward()} can send
 * gradients back to every input that requires one.
 *
 * <p>Operations are methods ({@link #matmul}, {@link #add}, {@link #softmax}, …) and the fused
 * layer functions in {@link Functional}. Any forward code written with them trains: residual
 * connections, attention, reshapes. A result records its inputs only when grad mode is on and at
 * least one input requires a gradient, so frozen weights and evaluation cost no graph memory.
 */
public class Tensor {

    private final INDArray value;
    private boolean requiresGrad;
    private @Nullable INDArray grad;
    private boolean gradOwned;
    private final Tensor[] inputs;
    private final @Nullable BackwardFunction backward;

    /** A leaf tensor. */
    protected Tensor(INDArray value, boolean requiresGrad) {
        this.value = value;
        this.requiresGrad = requiresGrad;
        this.inputs = new Tensor[0];
        this.backward = null;
    }

    private Tensor(INDArray value, Tensor[] inputs, BackwardFunction backward) {
        this.value = value;
        this.requiresGrad = true;
        this.inputs = inputs;
        this.backward = backward;
    }

    /** A tensor that needs no gradient: input data, masks, targets. */
    public static Tensor constant(INDArray value) {
        return new Tensor(value, false);
    }

    /** A leaf that collects a gradient, e.g. for a gradient check of an input. */
    public static Tensor variable(INDArray value) {
        return new Tensor(value, true);
    }

    /**
     * The result of an operation. It records its inputs for backpropagation only when grad mode
     * is on and one of them requires a gradient.
     */
    static Tensor result(INDArray value, BackwardFunction backward, Tensor... inputs) {
        if (!GradMode.isEnabled()) {
            return new Tensor(value, false);
        }
        for (Tensor input : inputs) {
            if (input.requiresGrad) {
                return new Tensor(value, inputs, backward);
            }
        }
        return new Tensor(value, false);
    }

    /** The values. Changing them in place after the tensor was used in a forward pass corrupts its gradients. */
    public INDArray value() {
        return value;
    }

    /** The accumulated gradient, or {@code null} when none has reached this tensor. */
    public @Nullable INDArray grad() {
        return grad;
    }

    /** Whether backpropagation computes a gradient for this tensor. */
    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Changes whether this leaf collects a gradient; dropping it also frees the buffer. */
    protected void setRequiresGrad(boolean requiresGrad) {
        if (backward != null) {
            throw new IllegalStateException("only a leaf tensor's requiresGrad can change");
        }
        this.requiresGrad = requiresGrad;
        if (!requiresGrad) {
            grad = null;
        }
    }

    /** Drops the gradient buffer (a leaf keeps none until the next backward pass). */
    public void clearGrad() {
        grad = null;
    }

    /** Sets the gradient buffer, e.g. when an optimizer restores state. */
    protected void setGrad(INDArray grad) {
        this.grad = grad;
        this.gradOwned = true;
    }

    /** The shape. */
    public long[] shape() {
        return value.shape();
    }

    /** The size of one dimension; negative counts from the end. */
    public long size(int dimension) {
        return value.size(dimension < 0 ? value.rank() + dimension : dimension);
    }

    /** The number of dimensions. */
    public int rank() {
        return value.rank();
    }

    /** The element type. */
    public DataType dataType() {
        return value.dataType();
    }

    /** The single value of a one-element tensor. */
    public double item() {
        if (value.length() != 1) {
            throw new IllegalStateException("item() needs one element, the shape is " + Arrays.toString(shape()));
        }
        return value.getDouble(0);
    }

    /**
     * Adds {@code gradient} (same shape as the value) to this tensor's gradient. Operations call
     * this in their backward step; the array passed may be shared, so it is never modified here.
     */
    @SuppressWarnings("try") // the scopes are used only for their close()
    public void accumulateGradient(INDArray gradient) {
        if (!requiresGrad) {
            return;
        }
        if (!Arrays.equals(gradient.shape(), value.shape())) {
            throw new IllegalStateException("gradient shape " + Arrays.toString(gradient.shape())
                    + " does not match tensor shape " + Arrays.toString(value.shape()));
        }
        if (backward == null) {
            GradientSink sink = GradientSink.current();
            if (sink != null && sink.accumulate(this, gradient)) {
                return; // a data-parallel worker's own buffer for this leaf
            }
        }
        if (grad == null) {
            // a leaf keeps its own copy: its buffer outlives the pass and may be changed in place
            // (zeroGrad, clipping), so it must not be shared with another tensor's gradient
            boolean leaf = backward == null;
            if (leaf) {
                try (MemoryWorkspace outside = StepMemory.outside()) { // it outlives a training step's memory
                    grad = gradient.dup();
                }
            } else {
                grad = gradient;
            }
            gradOwned = leaf;
        } else if (!gradOwned) {
            // the first gradient may be another tensor's array: the sum goes into a new one, in one
            // pass (a copy, then an add in place, took two)
            INDArray summed = OneDnnKernels.add(grad, gradient);
            grad = summed != null ? summed : grad.add(gradient);
            gradOwned = true;
        } else if (!OneDnnKernels.add(grad, gradient, grad)) {
            grad.addi(gradient);
        }
    }

    /**
     * The gradient buffer of this interior tensor when it is its own and plain (a sum of gradients
     * already): a product can then add its share into it as it writes ({@code beta = 1}) instead of
     * making an array that {@link #accumulateGradient} adds in a second pass. {@code null} when there
     * is none yet, or for a leaf (whose gradients may go to a data-parallel worker's buffer).
     */
    @Nullable INDArray ownGradient() {
        return requiresGrad && backward != null && gradOwned && grad != null && Shapes.isPlain(grad) ? grad : null;
    }

    /** Backpropagates from this scalar (one-element) tensor. */
    public void backward() {
        if (value.length() != 1) {
            throw new IllegalStateException(
                    "backward() without a seed needs a one-element tensor, the shape is " + Arrays.toString(shape()));
        }
        backward(Nd4j.onesLike(value));
    }

    /**
     * Backpropagates {@code seed}, the gradient of some objective with respect to this tensor,
     * through the recorded graph. Gradients accumulate in leaves that require them; intermediate
     * gradients are freed as soon as they have been passed on.
     */
    public void backward(INDArray seed) {
        if (!requiresGrad) {
            throw new IllegalStateException(
                    "this tensor does not require a gradient: no input of its computation is trainable, or grad mode was off");
        }
        List<Tensor> order = topologicalOrder();
        try (BackwardMemory memory = BackwardMemory.open()) {
            accumulateGradient(seed);
            for (int i = order.size() - 1; i >= 0; i--) {
                Tensor node = order.get(i);
                if (node.backward == null) {
                    continue;
                }
                INDArray g = node.grad;
                node.grad = null;
                if (g != null) {
                    node.backward.propagate(g);
                    if (memory.full()) {
                        keepPending(order.subList(0, i), memory);
                    }
                }
            }
        }
    }

    /** Empties the backward memory, keeping the gradients that wait for a node still to come. */
    private static void keepPending(List<Tensor> before, BackwardMemory memory) {
        List<Tensor> pending = new ArrayList<>();
        for (Tensor t : before) {
            if (t.backward != null && t.grad != null) {
                pending.add(t);
            }
        }
        INDArray[] kept = memory.empty(pending.stream().map(t -> t.grad).toArray(INDArray[]::new));
        for (int k = 0; k < kept.length; k++) {
            pending.get(k).grad = kept[k];
            pending.get(k).gradOwned = true;
        }
    }

    /** The interior nodes and leaves reachable from this tensor, inputs before outputs. */
    private List<Tensor> topologicalOrder() {
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Tensor> stack = new ArrayDeque<>();
        Deque<Integer> next = new ArrayDeque<>();
        stack.push(this);
        next.push(0);
        visited.add(this);
        while (!stack.isEmpty()) {
            Tensor node = stack.peek();
            int i = next.pop();
            if (i < node.inputs.length) {
                next.push(i + 1);
                Tensor input = node.inputs[i];
                if (input.requiresGrad && visited.add(input)) {
                    stack.push(input);
                    next.push(0);
                }
            } else {
                stack.pop();
                order.add(node);
            }
        }
        return order;
    }

    // ---- operations ------------------------------------------------------------------------

    /** Element-wise sum with numpy broadcasting. */
    public Tensor add(Tensor other) {
        return ElementwiseOps.add(this, other);
    }

    /** Element-wise difference with numpy broadcasting. */
    public Tensor sub(Tensor other) {
        return ElementwiseOps.sub(this, other);
    }

    /** Element-wise product with numpy broadcasting. */
    public Tensor mul(Tensor other) {
        return ElementwiseOps.mul(this, other);
    }

    /** Multiplies by a constant. */
    public Tensor mul(double factor) {
        return ElementwiseOps.scale(this, factor);
    }

    /** Adds a constant. */
    public Tensor add(double constant) {
        return ElementwiseOps.addConstant(this, constant);
    }

    /** The negation. */
    public Tensor neg() {
        return ElementwiseOps.scale(this, -1.0);
    }

    /** {@code max(0, x)}. */
    public Tensor relu() {
        return ActivationOps.relu(this);
    }

    /** The exact GELU, {@code x·Φ(x)} with the Gaussian CDF (as BERT and PyTorch's default). */
    public Tensor gelu() {
        return ActivationOps.gelu(this);
    }

    /** The hyperbolic tangent. */
    public Tensor tanh() {
        return ActivationOps.tanh(this);
    }

    /** The exponential. */
    public Tensor exp() {
        return ActivationOps.exp(this);
    }

    /** Softmax over the last dimension. */
    public Tensor softmax() {
        return SoftmaxOps.softmax(this);
    }

    /** Log-softmax over the last dimension. */
    public Tensor logSoftmax() {
        return SoftmaxOps.logSoftmax(this);
    }

    /**
     * Matrix product. Rank 2 by rank 2; a batch of matrices by a batch of the same size (rank ≥ 3,
     * equal leading dimensions); or rank ≥ 3 by a rank-2 matrix (applied to every row).
     */
    public Tensor matmul(Tensor other) {
        return MatrixOps.matmul(this, other, false, false);
    }

    /** {@code this · otherᵀ} on the last two dimensions, without copying the transpose. */
    public Tensor matmulTransposed(Tensor other) {
        return MatrixOps.matmul(this, other, false, true);
    }

    /** The same values in a new shape (one dimension may be -1). */
    public Tensor reshape(long... shape) {
        return ShapeOps.reshape(this, shape);
    }

    /** Reorders the dimensions. */
    public Tensor permute(int... dimensions) {
        return ShapeOps.permute(this, dimensions);
    }

    /** Swaps the last two dimensions. */
    public Tensor transpose() {
        int r = rank();
        if (r < 2) {
            throw new IllegalStateException("transpose needs rank >= 2, the shape is " + Arrays.toString(shape()));
        }
        int[] dims = new int[r];
        for (int i = 0; i < r; i++) {
            dims[i] = i;
        }
        dims[r - 2] = r - 1;
        dims[r - 1] = r - 2;
        return permute(dims);
    }

    /** The slice {@code [start, start + length)} along one dimension. */
    public Tensor narrow(int dimension, long start, long length) {
        return ShapeOps.narrow(this, dimension, start, length);
    }

    /** The sum of all elements, as a scalar. */
    public Tensor sum() {
        return ReductionOps.sum(this);
    }

    /** The mean of all elements, as a scalar. */
    public Tensor mean() {
        return ReductionOps.mean(this);
    }

    /** The mean along one dimension, which is removed. */
    public Tensor mean(int dimension) {
        return ReductionOps.mean(this, dimension);
    }

    /** The sum along one dimension, which is removed. */
    public Tensor sum(int dimension) {
        return ReductionOps.sum(this, dimension);
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape()) + (requiresGrad ? " (requires grad)" : "");
    }
}
