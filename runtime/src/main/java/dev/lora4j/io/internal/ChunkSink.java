package dev.lora4j.io.internal;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Where {@link ComputedTensor} puts its bytes: it borrows a buffer, fills it and hands it back, in order. */
public interface ChunkSink {

    /**
     * An empty little-endian buffer (position 0) with room for at least {@code bytes} bytes; it
     * belongs to the caller until {@link #put}.
     *
     * @throws java.io.InterruptedIOException if interrupted while waiting for a free buffer
     */
    ByteBuffer take(int bytes) throws IOException;

    /** Hands over a buffer from {@link #take}, filled and flipped: its remaining bytes come next. */
    void put(ByteBuffer chunk) throws IOException;
}
