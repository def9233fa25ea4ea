package dev.lora4j.io;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The content of a safetensors header: the tensor entries in data order and the string metadata.
 * {@link SafetensorsFile#header()} returns the one read from a file; {@link #builder()} plans one
 * for {@link SafetensorsWriter}, laying the tensors out back to back in declaration order.
 */
public final class SafetensorsHeader {

    /** The reserved header key that holds the metadata map. */
    public static final String METADATA_KEY = "__metadata__";

    private final List<TensorInfo> tensors;
    private final Map<String, TensorInfo> byName;
    private final Map<String, String> metadata;

    private SafetensorsHeader(List<TensorInfo> tensors, Map<String, String> metadata) {
        this.tensors = Collections.unmodifiableList(new ArrayList<>(tensors));
        Map<String, TensorInfo> index = new LinkedHashMap<>();
        for (TensorInfo info : tensors) {
            if (index.put(info.name(), info) != null) {
                throw new SafetensorsException("duplicate tensor name '" + info.name() + "'");
            }
        }
        this.byName = Collections.unmodifiableMap(index);
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /**
     * A header holding exactly these entries (in this order) and metadata. The entries' offsets
     * are taken as given; only duplicate names are rejected here (the reader validates files in
     * full before it gets this far).
     */
    public static SafetensorsHeader of(List<TensorInfo> tensors, Map<String, String> metadata) {
        return new SafetensorsHeader(tensors, metadata);
    }

    /** A builder that lays tensors out contiguously in declaration order, starting at offset 0. */
    public static Builder builder() {
        return new Builder();
    }

    /** The tensor entries, in the order their data appears. */
    public List<TensorInfo> tensors() {
        return tensors;
    }

    /** The entry called {@code name}, or {@code null}. */
    public @Nullable TensorInfo get(String name) {
        return byName.get(name);
    }

    /** The {@code __metadata__} map (empty when the header has none), in file order. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The size of the data section the entries need: the largest {@code end} (0 when empty). */
    public long dataLength() {
        long max = 0;
        for (TensorInfo info : tensors) {
            max = Math.max(max, info.end());
        }
        return max;
    }

    /** Plans a header: declare metadata and tensors, then {@link #build()}. */
    public static final class Builder {
        private final List<TensorInfo> tensors = new ArrayList<>();
        private final Map<String, String> metadata = new LinkedHashMap<>();
        private long offset;

        private Builder() {}

        /** Adds one metadata entry (replacing an earlier one with the same key). */
        public Builder metadata(String key, String value) {
            metadata.put(Objects.requireNonNull(key, "metadata key"),
                    Objects.requireNonNull(value, () -> "metadata value for '" + key + "'"));
            return this;
        }

        /** Adds every entry of {@code entries}; see {@link #metadata(String, String)}. */
        public Builder metadata(Map<String, String> entries) {
            entries.forEach(this::metadata);
            return this;
        }

        /**
         * Declares the next tensor; its data follows the previously declared one.
         *
         * @throws SafetensorsException for a duplicate or reserved name, a negative dimension, or a
         *     size that overflows 64 bits
         */
        public Builder tensor(String name, DType dtype, long... shape) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(dtype, "dtype");
            if (name.equals(METADATA_KEY)) {
                throw new SafetensorsException("tensor name '" + METADATA_KEY + "' is reserved");
            }
            for (TensorInfo existing : tensors) {
                if (existing.name().equals(name)) {
                    throw new SafetensorsException("tensor '" + name + "' is declared twice");
                }
            }
            long bytes = dtype.byteSize();
            try {
                for (long d : shape) {
                    if (d < 0) {
                        throw new SafetensorsException("tensor '" + name + "' has a negative dimension in shape "
                                + Arrays.toString(shape));
                    }
                    bytes = Math.multiplyExact(bytes, d);
                }
                long end = Math.addExact(offset, bytes);
                tensors.add(new TensorInfo(name, dtype, shape, offset, end));
                offset = end;
            } catch (ArithmeticException e) {
                throw new SafetensorsException("tensor '" + name + "' with shape " + Arrays.toString(shape)
                        + " and dtype " + dtype.safetensorsName() + " is too large: its byte offset overflows 64 bits");
            }
            return this;
        }

        /** The planned header. */
        public SafetensorsHeader build() {
            return new SafetensorsHeader(tensors, metadata);
        }
    }
}
