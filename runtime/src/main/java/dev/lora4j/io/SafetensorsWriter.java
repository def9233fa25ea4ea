package dev.lora4j.io;

import dev.lora4j.io.internal.AtomicFile;
import dev.lora4j.io.internal.HeaderCodec;
import dev.lora4j.io.internal.TensorBytes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Writes safetensors files, atomically: the bytes go to a temporary file {@code
 * .<name>.tmp-<random>} in the destination's directory, which {@link #commit()} forces to disk and
 * renames over the destination. On any failure, or {@link #close()} without {@link #commit()}, the
 * temporary file is deleted and the destination keeps its previous content. A file of 64 MiB or
 * more is forced to disk in the background as it is written, so the commit does not wait for all
 * of it.
 *
 * <p>Small files: {@link #write(Path, Map, Map)}. Files larger than the heap stream: plan the
 * header first, then hand over each tensor in declared order and commit.
 *
 * <pre>{@code
 * SafetensorsHeader header = SafetensorsHeader.builder()
 *         .metadata("format", "pt")
 *         .tensor("a.weight", DType.BF16, 4096, 4096)
 *         .tensor("a.bias", DType.F32, 4096)
 *         .build();
 * try (SafetensorsWriter writer = SafetensorsWriter.open(path, header)) {
 *     writer.write("a.weight", weight);   // an INDArray, converted to BF16
 *     writer.write("a.bias", biasBytes);  // or little-endian bytes as stored
 *     writer.commit();
 * }
 * }</pre>
 *
 * <p>Besides arrays and byte buffers, a tensor can come straight from another file ({@link
 * #copy(SafetensorsFile, String)}, file to file) or in pieces ({@link #stream(String)}).
 *
 * <p>Conversions: floating dtypes accept any numeric array (F16 and BF16 are narrowed from float,
 * rounding to nearest even); integer and BOOL dtypes accept integer or BOOL arrays only. Writing a
 * tensor out of order, with another shape or with the wrong number of bytes is a {@link
 * SafetensorsException}, and aborts the whole file. Not thread-safe.
 */
public final class SafetensorsWriter implements AutoCloseable {

    private enum State { OPEN, FAILED, COMMITTED }

    /** Files from this size on are forced to disk while they are written, not all at commit. */
    private static final long BACKGROUND_FLUSH_BYTES = 64L << 20;
    private static final long BACKGROUND_FLUSH_MILLIS = 25;

    private final String label;
    private final SafetensorsHeader header;
    private final AtomicFile file;
    private int next;
    private @Nullable TensorChannel streaming;
    private State state = State.OPEN;

    private SafetensorsWriter(Path path, SafetensorsHeader header, AtomicFile file) {
        this.label = path.toString();
        this.header = header;
        this.file = file;
    }

    /**
     * Writes {@code tensors} (each in its own ND4J type, see {@link DType#fromNd4j}) and {@code
     * metadata} to {@code file} atomically. As the reference implementation does, tensors are laid
     * out by decreasing element size, then by name, so every tensor starts aligned to its element
     * size; the header lists {@code __metadata__} first, then the tensors in data order, padded
     * with spaces to a multiple of 8 bytes.
     *
     * @param metadata string metadata, may be {@code null} or empty (then no {@code __metadata__})
     */
    public static void write(Path file, Map<String, INDArray> tensors, @Nullable Map<String, String> metadata)
            throws IOException {
        Map<String, DType> dtypes = new HashMap<>();
        for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
            try {
                dtypes.put(e.getKey(), DType.fromNd4j(e.getValue().dataType()));
            } catch (SafetensorsException unsupported) {
                throw new SafetensorsException(file + ": tensor '" + e.getKey() + "': " + unsupported.getMessage());
            }
        }
        List<String> names = new ArrayList<>(tensors.keySet());
        names.sort(Comparator.comparingInt((String n) -> -dtypes.get(n).byteSize())
                .thenComparing(Comparator.naturalOrder()));
        SafetensorsHeader.Builder plan = SafetensorsHeader.builder();
        if (metadata != null) {
            new TreeMap<>(metadata).forEach(plan::metadata);
        }
        for (String name : names) {
            plan.tensor(name, dtypes.get(name), tensors.get(name).shape());
        }
        try (SafetensorsWriter writer = open(file, plan.build())) {
            for (String name : names) {
                writer.write(name, tensors.get(name));
            }
            writer.commit();
        }
    }

    /**
     * Starts writing {@code file} with the given header, whose tensors must lie back to back from
     * offset 0 in list order (as {@link SafetensorsHeader#builder()} lays them out). The header is
     * written at once; tensors follow through {@link #write}.
     */
    public static SafetensorsWriter open(Path file, SafetensorsHeader header) throws IOException {
        long expected = 0;
        for (TensorInfo info : header.tensors()) {
            if (info.begin() != expected) {
                throw new SafetensorsException(file + ": tensor '" + info.name() + "' starts at " + info.begin()
                        + " but the streaming writer needs tensors back to back (expected " + expected + ")");
            }
            expected = info.end();
        }
        byte[] json = HeaderCodec.encode(header);
        AtomicFile atomic = AtomicFile.create(file);
        try {
            if (header.dataLength() >= BACKGROUND_FLUSH_BYTES) {
                atomic.flushInBackground(BACKGROUND_FLUSH_MILLIS);
            }
            ByteBuffer prefix = ByteBuffer.allocate(8 + json.length).order(ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(json.length).put(json).flip();
            TensorBytes.writeFully(prefix, atomic.channel());
        } catch (IOException | RuntimeException | Error e) {
            atomic.abort();
            throw e;
        }
        return new SafetensorsWriter(file, header, atomic);
    }

    /** The name of the tensor expected next, or {@code null} when all have been written. */
    public @Nullable String nextTensor() {
        return next < header.tensors().size() ? header.tensors().get(next).name() : null;
    }

    /**
     * Writes the next tensor's values from {@code array}, converted to the declared dtype. The
     * array's shape must equal the declared shape.
     */
    public void write(String name, INDArray array) throws IOException {
        TensorInfo info = expect(name);
        try {
            if (!Arrays.equals(array.shape(), info.shape())) {
                throw new SafetensorsException(label + ": tensor '" + name + "' was declared with shape "
                        + Arrays.toString(info.shape()) + " but the array has shape " + Arrays.toString(array.shape()));
            }
            long written;
            try {
                written = TensorBytes.write(array, info.dtype(), file.channel());
            } catch (SafetensorsException e) {
                throw new SafetensorsException(label + ": tensor '" + name + "': " + e.getMessage(), e);
            }
            finish(info, written);
        } catch (IOException | RuntimeException | Error e) {
            fail();
            throw e;
        }
    }

    /**
     * Writes the next tensor's bytes as stored on disk: exactly {@code product(shape) × dtype size}
     * little-endian bytes must remain in {@code bytes} (its position is left unchanged).
     */
    public void write(String name, ByteBuffer bytes) throws IOException {
        TensorInfo info = expect(name);
        try {
            if (bytes.remaining() != info.byteLength()) {
                throw new SafetensorsException(label + ": tensor '" + name + "' has shape "
                        + Arrays.toString(info.shape()) + " (" + info.numElements() + " × "
                        + info.dtype().safetensorsName() + " = " + info.byteLength() + " bytes) but "
                        + bytes.remaining() + " bytes were given");
            }
            finish(info, TensorBytes.writeFully(bytes, file.channel()));
        } catch (IOException | RuntimeException | Error e) {
            fail();
            throw e;
        }
    }

    /**
     * Writes the next tensor as a copy of the tensor of the same name in {@code source}, sent file
     * to file ({@link java.nio.channels.FileChannel#transferTo}) without passing through the heap.
     * Its dtype and shape in {@code source} must be the declared ones.
     *
     * @throws SafetensorsException if {@code source} has no such tensor or it differs in dtype or shape
     */
    public void copy(SafetensorsFile source, String name) throws IOException {
        TensorInfo info = expect(name);
        try {
            TensorInfo from = source.info(name);
            if (from.dtype() != info.dtype() || !Arrays.equals(from.shape(), info.shape())) {
                throw new SafetensorsException(label + ": tensor '" + name + "' was declared as "
                        + info.dtype().safetensorsName() + " " + Arrays.toString(info.shape()) + " but " + source.path()
                        + " holds it as " + from.dtype().safetensorsName() + " " + Arrays.toString(from.shape()));
            }
            finish(info, source.transferTo(from, file.channel()));
        } catch (IOException | RuntimeException | Error e) {
            fail();
            throw e;
        }
    }

    /**
     * Starts the next tensor, whose bytes as stored (little-endian, {@code product(shape) × dtype
     * size} of them) are then written in any number of pieces to the returned channel. The tensor
     * is complete once that many bytes were written; writing more, or writing another tensor or
     * committing before it is complete, is a {@link SafetensorsException} that aborts the file.
     * The channel needs no closing.
     */
    public WritableByteChannel stream(String name) throws IOException {
        TensorInfo info = expect(name);
        TensorChannel channel = new TensorChannel(info);
        if (info.byteLength() == 0) {
            finish(info, 0);
        } else {
            streaming = channel;
        }
        return channel;
    }

    /**
     * Checks that every declared tensor was written, forces the file to disk and moves it over the
     * destination. On failure the destination is untouched and the temporary file is gone.
     */
    public void commit() throws IOException {
        checkOpen();
        checkNotStreaming(null);
        if (next != header.tensors().size()) {
            fail();
            throw new SafetensorsException(label + ": commit after " + next + " of " + header.tensors().size()
                    + " tensors; '" + header.tensors().get(next).name() + "' was never written");
        }
        try {
            file.commit();
            state = State.COMMITTED;
        } catch (IOException | RuntimeException | Error e) {
            state = State.FAILED;
            throw e;
        }
    }

    /** Deletes the temporary file unless {@link #commit()} succeeded; the destination is untouched. */
    @Override
    public void close() {
        if (state == State.OPEN) {
            fail();
        }
    }

    private TensorInfo expect(String name) {
        Objects.requireNonNull(name, "name");
        checkOpen();
        checkNotStreaming(name);
        List<TensorInfo> all = header.tensors();
        if (next >= all.size()) {
            fail();
            throw new SafetensorsException(label + ": tensor '" + name + "' written after all "
                    + all.size() + " declared tensors");
        }
        TensorInfo info = all.get(next);
        if (!info.name().equals(name)) {
            fail();
            throw new SafetensorsException(label + ": expected tensor '" + info.name() + "' next (#" + (next + 1)
                    + " of " + all.size() + " in declared order) but got '" + name + "'"
                    + (header.get(name) == null ? ", which was never declared" : ""));
        }
        return info;
    }

    private void finish(TensorInfo info, long written) {
        if (written != info.byteLength()) {
            throw new SafetensorsException(label + ": tensor '" + info.name() + "' produced " + written
                    + " bytes but " + info.byteLength() + " were declared");
        }
        next++;
    }

    private void checkNotStreaming(@Nullable String wanted) {
        if (streaming != null) {
            TensorChannel partial = streaming;
            fail();
            throw new SafetensorsException(label + ": tensor '" + partial.info.name() + "' got " + partial.written
                    + " of its " + partial.info.byteLength() + " bytes before "
                    + (wanted == null ? "commit" : "tensor '" + wanted + "' was started"));
        }
    }

    private void checkOpen() {
        if (state != State.OPEN) {
            throw new IllegalStateException(label + ": writer is " + (state == State.COMMITTED
                    ? "already committed" : "aborted after an earlier error"));
        }
    }

    private void fail() {
        state = State.FAILED;
        file.abort();
    }

    /** The pieces of one tensor: counts them and completes the tensor at its last byte. */
    private final class TensorChannel implements WritableByteChannel {
        private final TensorInfo info;
        private long written;

        TensorChannel(TensorInfo info) {
            this.info = info;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            if (!isOpen()) {
                throw new IllegalStateException(label + ": tensor '" + info.name() + "' is "
                        + (written == info.byteLength() ? "complete" : "no longer being written"));
            }
            try {
                int n = src.remaining();
                if (n > info.byteLength() - written) {
                    throw new SafetensorsException(label + ": tensor '" + info.name() + "' has " + info.byteLength()
                            + " bytes but " + (written + n) + " were given");
                }
                while (src.hasRemaining()) {
                    file.channel().write(src);
                }
                written += n;
                if (written == info.byteLength()) {
                    streaming = null;
                    finish(info, written);
                }
                return n;
            } catch (IOException | RuntimeException | Error e) {
                fail();
                throw e;
            }
        }

        @Override
        public boolean isOpen() {
            return state == State.OPEN && streaming == this;
        }

        @Override
        public void close() {
            // nothing to release: the writer owns the file
        }
    }
}
