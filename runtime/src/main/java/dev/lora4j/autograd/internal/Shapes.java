package dev.lora4j.autograd.internal;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Shape arithmetic shared by the operations. */
public final class Shapes {

    private Shapes() {}

    /** The product of the dimensions; 1 for a scalar. */
    public static long product(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The size of the last dimension. */
    public static long last(long[] shape) {
        if (shape.length == 0) {
            throw new IllegalArgumentException("a scalar has no last dimension");
        }
        return shape[shape.length - 1];
    }

    /**
     * The array viewed (or copied, when not contiguous) as a matrix [rows, last dimension]; a
     * row-major matrix is returned as it is (a view costs ND4J several microseconds, and a training
     * step asks for thousands).
     */
    public static INDArray asRows(INDArray array) {
        if (array.rank() == 2 && array.ordering() == 'c' && array.stride(1) == 1 && array.stride(0) == array.size(1)) {
            return array;
        }
        long cols = last(array.shape());
        long rows = cols == 0 ? 0 : array.length() / cols;
        return array.reshape('c', rows, cols);
    }

    /**
     * {@code array.reshape('c', shape)}, or the array itself when it has that shape already (the
     * same elements either way; ND4J would make a new view, which costs microseconds).
     */
    public static INDArray reshape(INDArray array, long... shape) {
        return Arrays.equals(array.shape(), shape) ? array : array.reshape('c', shape);
    }

    /** {@code shape} with its last dimension replaced. */
    public static long[] withLast(long[] shape, long last) {
        long[] out = shape.clone();
        out[out.length - 1] = last;
        return out;
    }

    /**
     * Sums a gradient computed for a broadcast result back to the shape of one operand, following
     * numpy's broadcasting rules (missing leading dimensions and dimensions of size 1).
     */
    public static INDArray unbroadcast(INDArray gradient, long[] shape) {
        long[] gradShape = gradient.shape();
        if (Arrays.equals(gradShape, shape)) {
            return gradient;
        }
        int extra = gradShape.length - shape.length;
        INDArray g = gradient;
        if (extra > 0) {
            int[] leading = new int[extra];
            for (int i = 0; i < extra; i++) {
                leading[i] = i;
            }
            g = g.sum(leading);
        }
        int count = 0;
        int[] ones = new int[shape.length];
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 1 && g.size(i) != 1) {
                ones[count++] = i;
            }
        }
        if (count > 0) {
            g = g.sum(true, Arrays.copyOf(ones, count));
        }
        return g.reshape(shape);
    }

    /** The inverse of a permutation. */
    public static int[] invert(int[] permutation) {
        int[] inverse = new int[permutation.length];
        for (int i = 0; i < permutation.length; i++) {
            inverse[permutation[i]] = i;
        }
        return inverse;
    }

    /**
     * The array itself when it {@linkplain #isPlain is plain} (what the kernels that walk native
     * memory need), else a row-major copy.
     */
    public static INDArray plain(INDArray a) {
        return isPlain(a) ? a : a.dup('c');
    }

    /** Whether the array's elements are its whole buffer, in row-major order from the buffer's start. */
    public static boolean isPlain(INDArray a) {
        return a.ordering() == 'c' && a.offset() == 0 && a.data().length() == a.length()
                && (a.length() <= 1 || a.elementWiseStride() == 1);
    }
}
