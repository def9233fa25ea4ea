package dev.lora4j.testing;

import dev.lora4j.autograd.GradMode;
import dev.lora4j.autograd.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Compares the gradient that {@link Tensor#backward(INDArray)} computes with central finite
 * differences, in float64.
 *
 * <p>The function under test is a {@code Supplier<Tensor>} that recomputes its result from the
 * current values of some leaf tensors (made with {@link Tensor#variable} or {@link
 * dev.lora4j.nn.Parameter}s, all float64 and requiring a gradient). Its result may have any shape:
 * the check differentiates the scalar {@code L = sum(f(x) ⊙ R)} for a fixed random projection
 * {@code R} (standard normal, seeded), so every output element contributes with a different
 * weight. The analytic gradient is {@code f(x).backward(R)}, which is exactly {@code ∂L/∂x}.
 *
 * <p>For every element {@code x_i} of every input the numeric derivative is the central difference
 *
 * <pre>
 *   n_i = sum((f(x + h·e_i) − f(x − h·e_i)) ⊙ R) / (2h),   h = {@value #DEFAULT_STEP}
 * </pre>
 *
 * (the two outputs are subtracted element-wise before the projection, which loses less to
 * rounding, and 2h is the step actually taken in float64), with graph recording off. The error of
 * an element is the relative error
 *
 * <pre>
 *   e_i = |a_i − n_i| / max(|a_i|, |n_i|, 1e-8)
 * </pre>
 *
 * where {@code a_i} is the analytic gradient (0 where the input received none). The check passes
 * when the largest {@code e_i} over all elements of all inputs is below the tolerance, {@value
 * #DEFAULT_TOLERANCE} unless changed. On failure the message names the input and the index of the
 * worst element with both values.
 *
 * <p>An input whose analytic and numeric gradients are both zero everywhere fails too (the check
 * would prove nothing) unless {@link #allowZeroGradient()} was called. An input whose gradient is
 * zero by construction (the relative error of two rounding noises means nothing) is checked with
 * {@link #zeroGradientInput} against absolute bounds instead.
 *
 * <p>After the check the values of the inputs are exactly as before, and the inputs hold the
 * analytic gradient of {@code L} (their previous gradients are cleared first), so a test can look
 * at them.
 *
 * <pre>{@code
 * Tensor x = Tensor.variable(TestArrays.normal(1, 2, 3));
 * GradientCheck.of(() -> x.tanh()).input("x", x).verify();
 * }</pre>
 */
public final class GradientCheck {

    /** The default finite-difference step. */
    public static final double DEFAULT_STEP = 1e-6;

    /** The default bound on the largest relative error. */
    public static final double DEFAULT_TOLERANCE = 1e-4;

    /** The floor of the denominator of the relative error. */
    public static final double DENOMINATOR_FLOOR = 1e-8;

    /** For a {@link #zeroGradientInput}: the bound on |analytic|. */
    public static final double ZERO_ANALYTIC_BOUND = 1e-12;

    /** For a {@link #zeroGradientInput}: the bound on |numeric| (finite-difference rounding noise). */
    public static final double ZERO_NUMERIC_BOUND = 1e-8;

    private final Supplier<Tensor> function;
    private final Map<String, Tensor> inputs = new LinkedHashMap<>();
    private final Map<String, Tensor> zeroInputs = new LinkedHashMap<>();
    private double step = DEFAULT_STEP;
    private double tolerance = DEFAULT_TOLERANCE;
    private long projectionSeed = 20240611L;
    private boolean allowZeroGradient;

    private GradientCheck(Supplier<Tensor> function) {
        this.function = function;
    }

    /** A check of {@code function}, which must be deterministic and recompute from its inputs' values. */
    public static GradientCheck of(Supplier<Tensor> function) {
        return new GradientCheck(function);
    }

    /** Checks the gradient with respect to {@code tensor}, reported as {@code name}. */
    public GradientCheck input(String name, Tensor tensor) {
        if (inputs.containsKey(name) || zeroInputs.containsKey(name)) {
            throw new IllegalArgumentException("two inputs named " + name);
        }
        inputs.put(name, tensor);
        return this;
    }

    /**
     * Checks an input whose gradient is exactly zero by construction, e.g. the key bias of
     * attention (it adds the same constant to every score of a softmax row). The relative error is
     * meaningless there (both values are rounding noise), so the check instead requires
     * |analytic| ≤ {@value #ZERO_ANALYTIC_BOUND} and |numeric| ≤ {@value #ZERO_NUMERIC_BOUND} at
     * every element.
     */
    public GradientCheck zeroGradientInput(String name, Tensor tensor) {
        if (inputs.containsKey(name) || zeroInputs.containsKey(name)) {
            throw new IllegalArgumentException("two inputs named " + name);
        }
        zeroInputs.put(name, tensor);
        return this;
    }

    /** Checks the gradients with respect to all given tensors, e.g. a module's {@code namedParameters()}. */
    public GradientCheck inputs(Map<String, ? extends Tensor> named) {
        named.forEach(this::input);
        return this;
    }

    /** Changes the tolerance on the largest relative error. */
    public GradientCheck tolerance(double tolerance) {
        this.tolerance = tolerance;
        return this;
    }

    /** Changes the finite-difference step. */
    public GradientCheck step(double step) {
        this.step = step;
        return this;
    }

    /** Changes the seed of the random projection R. */
    public GradientCheck projectionSeed(long seed) {
        this.projectionSeed = seed;
        return this;
    }

    /** Lets an input's gradient be zero everywhere. */
    public GradientCheck allowZeroGradient() {
        this.allowZeroGradient = true;
        return this;
    }

    /** Runs the check and throws an {@link AssertionError} when it fails. */
    public Result verify() {
        Result result = run();
        if (!result.passed()) {
            throw new AssertionError(result.describe());
        }
        return result;
    }

    /** Runs the check without asserting. */
    public Result run() {
        if (inputs.isEmpty() && zeroInputs.isEmpty()) {
            throw new IllegalStateException("no inputs to check");
        }
        Map<String, Tensor> all = new LinkedHashMap<>(inputs);
        all.putAll(zeroInputs);
        for (Map.Entry<String, Tensor> e : all.entrySet()) {
            Tensor t = e.getValue();
            if (t.dataType() != DataType.DOUBLE) {
                throw new IllegalArgumentException("input " + e.getKey() + " is " + t.dataType()
                        + "; gradient checks need float64");
            }
            if (!t.requiresGrad()) {
                throw new IllegalArgumentException("input " + e.getKey() + " does not require a gradient");
            }
            t.clearGrad();
        }

        Tensor output = function.get();
        if (output.dataType() != DataType.DOUBLE) {
            throw new IllegalArgumentException("the function's result is " + output.dataType() + ", not float64");
        }
        if (!output.requiresGrad()) {
            throw new AssertionError("the function's result does not require a gradient: it recorded no graph");
        }
        INDArray projection = TestArrays.normal(projectionSeed, output.shape());
        output.backward(projection);

        Result result = new Result(tolerance);
        for (Map.Entry<String, Tensor> e : all.entrySet()) {
            String name = e.getKey();
            Tensor input = e.getValue();
            boolean expectZero = zeroInputs.containsKey(name);
            INDArray analytic = input.grad() == null ? null : input.grad().dup();
            INDArray value = input.value();
            long[] shape = value.shape();
            long n = value.length();
            double largestGradient = 0;
            for (long flat = 0; flat < n; flat++) {
                long[] index = unravel(flat, shape);
                double a = analytic == null ? 0.0 : get(analytic, index);
                double numeric = centralDifference(value, index, projection);
                largestGradient = Math.max(largestGradient, Math.max(Math.abs(a), Math.abs(numeric)));
                if (expectZero) {
                    result.recordZero(name, index, a, numeric);
                } else {
                    result.record(name, index, a, numeric);
                }
            }
            if (!expectZero && largestGradient == 0 && !allowZeroGradient) {
                result.vacuousInputs.append(result.vacuousInputs.length() == 0 ? "" : ", ").append(name);
            }
        }
        return result;
    }

    /** {@code sum((f(x + h·e_i) − f(x − h·e_i)) ⊙ R) / (2h)}, restoring {@code x_i} exactly. */
    @SuppressWarnings("try")
    private double centralDifference(INDArray value, long[] index, INDArray projection) {
        double original = get(value, index);
        double plus = original + step;
        double minus = original - step;
        INDArray outPlus;
        INDArray outMinus;
        try (GradMode.Scope ignored = GradMode.disable()) {
            set(value, index, plus);
            outPlus = function.get().value().dup();
            set(value, index, minus);
            outMinus = function.get().value().dup();
        } finally {
            set(value, index, original);
        }
        double difference = outPlus.sub(outMinus).muli(projection).sumNumber().doubleValue();
        return difference / (plus - minus);
    }

    private static double get(INDArray array, long[] index) {
        return index.length == 0 ? array.getDouble(0L) : array.getDouble(index);
    }

    private static void set(INDArray array, long[] index, double v) {
        if (index.length == 0) {
            array.putScalar(0L, v);
        } else {
            array.putScalar(index, v);
        }
    }

    /** The C-order multi-index of a flat position. */
    static long[] unravel(long flat, long[] shape) {
        long[] index = new long[shape.length];
        long rest = flat;
        for (int d = shape.length - 1; d >= 0; d--) {
            index[d] = rest % shape[d];
            rest /= shape[d];
        }
        return index;
    }

    /** {@code |a − n| / max(|a|, |n|, 1e-8)}. */
    public static double relativeError(double analytic, double numeric) {
        double denominator = Math.max(Math.max(Math.abs(analytic), Math.abs(numeric)), DENOMINATOR_FLOOR);
        return Math.abs(analytic - numeric) / denominator;
    }

    /** The outcome: the worst element over all inputs. */
    public static final class Result {
        private final double tolerance;
        private double maxRelativeError = -1;
        private String worstInput;
        private long[] worstIndex;
        private double worstAnalytic;
        private double worstNumeric;
        private long elements;
        private long failures;
        private final StringBuilder vacuousInputs = new StringBuilder();
        private final StringBuilder nonZero = new StringBuilder();

        private Result(double tolerance) {
            this.tolerance = tolerance;
        }

        private void record(String input, long[] index, double analytic, double numeric) {
            double error = relativeError(analytic, numeric);
            if (Double.isNaN(error)) {
                error = Double.POSITIVE_INFINITY;
            }
            elements++;
            if (error >= tolerance) {
                failures++;
            }
            if (error > maxRelativeError) {
                maxRelativeError = error;
                worstInput = input;
                worstIndex = index;
                worstAnalytic = analytic;
                worstNumeric = numeric;
            }
        }

        private void recordZero(String input, long[] index, double analytic, double numeric) {
            elements++;
            boolean ok = Math.abs(analytic) <= ZERO_ANALYTIC_BOUND && Math.abs(numeric) <= ZERO_NUMERIC_BOUND;
            if (!ok) {
                failures++;
                if (nonZero.length() == 0) {
                    nonZero.append(String.format(Locale.ROOT,
                            "input '%s' should have a zero gradient but at index %s analytic is %.3e (bound %.0e),"
                                    + " numeric %.3e (bound %.0e)",
                            input, Arrays.toString(index), analytic, ZERO_ANALYTIC_BOUND, numeric,
                            ZERO_NUMERIC_BOUND));
                }
            }
        }

        /**
         * Whether every element is within the tolerance, every expected-zero gradient is zero, and
         * no input had an all-zero gradient.
         */
        public boolean passed() {
            return maxRelativeError < tolerance && vacuousInputs.length() == 0 && nonZero.length() == 0;
        }

        /** The largest relative error over all elements. */
        public double maxRelativeError() {
            return maxRelativeError;
        }

        /** The input holding the worst element. */
        public String worstInput() {
            return worstInput;
        }

        /** The index of the worst element in its input. */
        public long[] worstIndex() {
            return worstIndex == null ? null : worstIndex.clone();
        }

        /** The analytic gradient at the worst element. */
        public double worstAnalytic() {
            return worstAnalytic;
        }

        /** The numeric gradient at the worst element. */
        public double worstNumeric() {
            return worstNumeric;
        }

        /** The number of elements compared. */
        public long elements() {
            return elements;
        }

        /** A one-paragraph report. */
        public String describe() {
            StringBuilder s = new StringBuilder();
            s.append(passed() ? "gradient check passed" : "gradient check FAILED");
            s.append(String.format(Locale.ROOT,
                    ": max relative error %.3e (tolerance %.1e) at input '%s' index %s: analytic %.10e, numeric %.10e;"
                            + " %d of %d elements over tolerance",
                    maxRelativeError, tolerance, worstInput, Arrays.toString(worstIndex), worstAnalytic,
                    worstNumeric, failures, elements));
            if (vacuousInputs.length() > 0) {
                s.append("; gradient identically zero for input(s) ").append(vacuousInputs)
                        .append(" (the check would prove nothing)");
            }
            if (nonZero.length() > 0) {
                s.append("; ").append(nonZero);
            }
            return s.toString();
        }

        @Override
        public String toString() {
            return describe();
        }
    }
}
