package dev.lora4j.io;

import dev.lora4j.io.internal.HeaderCodec;
import dev.lora4j.io.internal.TensorBytes;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A safetensors file opened for reading.
 *
 * <p>The format: an 8-byte little-endian unsigned header length {@code N}, {@code N} bytes of UTF-8
 * JSON mapping each tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}} (plus an
 * optional {@code "__metadata__"} map of strings), then the data section, to which the offsets are
 * relative. {@link #open(Path)} reads and validates the whole header strictly: the header length
 * must fit in the file and be at most 100 MB; the JSON must be one object without duplicate keys;
 * every entry needs a known dtype, a shape of non-negative integers whose byte size does not
 * overflow, offsets {@code 0 ≤ begin ≤ end ≤ data length} spanning exactly {@code product(shape) ×
 * dtype size} bytes; no two tensors may overlap; metadata values must be strings. Gaps between
 * tensors and trailing bytes are allowed. Any violation is a {@link SafetensorsException} naming
 * the file and the tensor.
 *
 * <p>Tensor data is never loaded as a whole: each {@link #read(String)} or {@link
 * #rawBytes(String)} maps just that tensor's bytes with {@link FileChannel#map}, so files larger
 * than 2 GB (and than the heap) work, as long as each tensor is under 2 GiB. Instances are safe
 * for concurrent reads. Buffers from {@link #rawBytes(String)} stay valid after {@link #close()}.
 */
public final class SafetensorsFile implements AutoCloseable {

    /** The most dimensions {@link #read(String)} turns into an array (ND4J's limit). */
    public static final int MAX_ARRAY_RANK = 32;

    private final Path path;
    private final String label;
    private final FileChannel channel;
    private final long dataStart;
    private final SafetensorsHeader header;
    private volatile boolean closed;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, SafetensorsHeader header) {
        this.path = path;
        this.label = path.toString();
        this.channel = channel;
        this.dataStart = dataStart;
        this.header = header;
    }

    /**
     * Opens and validates {@code file}.
     *
     * @throws SafetensorsException if the content is not a valid safetensors file
     * @throws IOException if the file cannot be read
     */
    public static SafetensorsFile open(Path file) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            String label = file.toString();
            long size = channel.size();
            if (size < 8) {
                throw new SafetensorsException(label + ": file is " + size
                        + " bytes, too short for the 8-byte header length");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, lengthBytes, 0);
            long n = lengthBytes.getLong(0);
            if (Long.compareUnsigned(n, HeaderCodec.MAX_HEADER_BYTES) > 0) {
                throw new SafetensorsException(label + ": header length " + Long.toUnsignedString(n)
                        + " bytes exceeds the " + HeaderCodec.MAX_HEADER_BYTES + "-byte limit (file is "
                        + size + " bytes)");
            }
            if (n > size - 8) {
                throw new SafetensorsException(label + ": header length " + n + " bytes runs past the end of the file ("
                        + (size - 8) + " bytes follow the length)");
            }
            ByteBuffer json = ByteBuffer.allocate((int) n);
            readFully(channel, json, 8);
            long dataStart = 8 + n;
            SafetensorsHeader header = HeaderCodec.parse(json.array(), size - dataStart, label);
            return new SafetensorsFile(file, channel, dataStart, header);
        } catch (IOException | RuntimeException | Error e) {
            try {
                channel.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** The file this reads. */
    public Path path() {
        return path;
    }

    /** The parsed header. */
    public SafetensorsHeader header() {
        return header;
    }

    /** The tensor entries, in the order their data appears in the file. */
    public List<TensorInfo> tensors() {
        return header.tensors();
    }

    /** Whether the file holds a tensor called {@code name}. */
    public boolean contains(String name) {
        return header.get(name) != null;
    }

    /**
     * The entry for {@code name}.
     *
     * @throws SafetensorsException if there is no such tensor
     */
    public TensorInfo info(String name) {
        TensorInfo info = header.get(name);
        if (info == null) {
            throw new SafetensorsException(label + ": no tensor '" + name + "' (the file holds "
                    + header.tensors().size() + " tensors)");
        }
        return info;
    }

    /** The {@code __metadata__} strings (empty when absent). */
    public Map<String, String> metadata() {
        return header.metadata();
    }

    /**
     * The tensor as a new C-order array of the same shape: F32 → FLOAT, F64 → DOUBLE, F16 and BF16
     * widened exactly to FLOAT, integer types and BOOL to their ND4J counterparts (see {@link
     * DType#readType()}). Rank-0 tensors give a scalar, tensors with a zero dimension an empty array.
     *
     * @throws SafetensorsException if there is no such tensor, it is 2 GiB or larger, or its rank
     *     exceeds {@link #MAX_ARRAY_RANK}
     * @throws UncheckedIOException if mapping the file fails
     * @throws IllegalStateException after {@link #close()}
     */
    public INDArray read(String name) {
        TensorInfo info = info(name);
        if (info.rank() > MAX_ARRAY_RANK) {
            throw new SafetensorsException(label + ": tensor '" + name + "' has rank " + info.rank()
                    + "; ND4J arrays have at most " + MAX_ARRAY_RANK + " dimensions (rawBytes still reads it)");
        }
        ByteBuffer bytes = rawBytes(name);
        try {
            return TensorBytes.toArray(bytes, info.dtype(), info.shape());
        } catch (SafetensorsException e) {
            throw new SafetensorsException(label + ": tensor '" + name + "': " + e.getMessage(), e);
        }
    }

    /**
     * The tensor's bytes as stored: a read-only, little-endian buffer over a memory mapping of
     * just this tensor (position 0, limit = byte length).
     *
     * @throws SafetensorsException if there is no such tensor or it is 2 GiB or larger
     * @throws UncheckedIOException if mapping the file fails
     * @throws IllegalStateException after {@link #close()}
     */
    public ByteBuffer rawBytes(String name) {
        TensorInfo info = info(name);
        if (closed) {
            throw new IllegalStateException(label + " is closed");
        }
        long length = info.byteLength();
        if (length > Integer.MAX_VALUE) {
            throw new SafetensorsException(label + ": tensor '" + name + "' is " + length
                    + " bytes; tensors of 2 GiB or more cannot be mapped");
        }
        if (length == 0) {
            return ByteBuffer.allocate(0).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), length)
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException(label + ": cannot map tensor '" + name + "'", e);
        }
    }

    /**
     * Sends the stored bytes of {@code info}, an entry of this file, to {@code target} from its
     * current position, file to file where the platform allows ({@link FileChannel#transferTo}),
     * without passing them through the heap.
     *
     * @return the number of bytes sent: {@code info.byteLength()}
     * @throws EOFException if the file ended early (it shrank since it was opened)
     */
    long transferTo(TensorInfo info, WritableByteChannel target) throws IOException {
        if (closed) {
            throw new IllegalStateException(label + " is closed");
        }
        long from = dataStart + info.begin();
        long length = info.byteLength();
        long done = 0;
        while (done < length) {
            long n = channel.transferTo(from + done, length - done, target);
            if (n <= 0) {
                throw new EOFException(label + ": tensor '" + info.name() + "' ends at byte " + (from + length)
                        + " but the file now ends at byte " + channel.size());
            }
            done += n;
        }
        return done;
    }

    /** Closes the file; arrays already read and mapped buffers stay usable. */
    @Override
    public void close() throws IOException {
        closed = true;
        channel.close();
    }

    private static void readFully(FileChannel channel, ByteBuffer into, long position) throws IOException {
        long at = position;
        while (into.hasRemaining()) {
            int n = channel.read(into, at);
            if (n < 0) {
                throw new EOFException("unexpected end of file at byte " + at);
            }
            at += n;
        }
    }
}
