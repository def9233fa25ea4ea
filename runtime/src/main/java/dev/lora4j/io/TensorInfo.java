package dev.lora4j.io;

import java.util.Arrays;
import java.util.Objects;

/**
 * One entry of a safetensors header: a tensor's name, dtype, shape and the byte range of its data,
 * relative to the start of the data section (the byte after the header).
 */
public final class TensorInfo {

    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final long begin;
    private final long end;

    /**
     * An entry; callers are expected to have checked that {@code end - begin} equals
     * {@code numElements × dtype.byteSize()} (both the reader and {@link SafetensorsHeader} do).
     */
    public TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
        this.name = Objects.requireNonNull(name, "name");
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.shape = shape.clone();
        this.begin = begin;
        this.end = end;
    }

    /** The tensor's name, e.g. {@code "base_model.model.classifier.weight"}. */
    public String name() {
        return name;
    }

    /** The element type on disk. */
    public DType dtype() {
        return dtype;
    }

    /** The shape (a copy); empty for a rank-0 tensor. */
    public long[] shape() {
        return shape.clone();
    }

    /** The number of dimensions. */
    public int rank() {
        return shape.length;
    }

    /** The product of the shape (1 for rank 0, 0 when any dimension is 0). */
    public long numElements() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** First data byte, relative to the start of the data section. */
    public long begin() {
        return begin;
    }

    /** One past the last data byte, relative to the start of the data section. */
    public long end() {
        return end;
    }

    /** {@code end() - begin()}. */
    public long byteLength() {
        return end - begin;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TensorInfo)) {
            return false;
        }
        TensorInfo other = (TensorInfo) o;
        return name.equals(other.name)
                && dtype == other.dtype
                && Arrays.equals(shape, other.shape)
                && begin == other.begin
                && end == other.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    /** E.g. {@code a.weight F32 [4, 4] @[0, 64)}. */
    @Override
    public String toString() {
        return name + " " + dtype.safetensorsName() + " " + Arrays.toString(shape)
                + " @[" + begin + ", " + end + ")";
    }
}
