package dev.lora4j.io.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs a list of jobs that produce bytes, one after another on a background thread, while the
 * caller writes their output in the same order with {@link #drainNext}: computing the next tensor
 * overlaps with writing (and with whatever else the caller does between jobs). The jobs run at
 * most {@code buffers} chunks ahead, through a fixed pool of reused direct buffers, so memory
 * stays bounded. A job's exception is rethrown by the {@link #drainNext} that reaches it; {@link
 * #close()} stops the thread. The thread is never interrupted (an interrupt would close file
 * channels the jobs read through): a stopped pipeline's job fails at its next chunk.
 */
public final class ChunkPipeline implements AutoCloseable {

    /** One producer, run on the pipeline's thread. */
    @FunctionalInterface
    public interface Job {
        /** Produces all of this job's bytes into {@code sink}. */
        void run(ChunkSink sink) throws IOException;
    }

    private static final Object END = new Object();
    private static final long POLL_MILLIS = 20;

    private final BlockingQueue<ByteBuffer> free;
    private final BlockingQueue<Object> ready = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean closed;

    /**
     * Starts running {@code jobs} on a daemon thread called {@code name}.
     *
     * @param buffers how many chunks the jobs may run ahead of the writer
     */
    public ChunkPipeline(List<Job> jobs, int buffers, String name) {
        this.free = new ArrayBlockingQueue<>(buffers);
        for (int i = 0; i < buffers; i++) {
            free.add(ByteBuffer.allocate(0));
        }
        this.thread = new Thread(() -> runAll(jobs), name);
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Writes the output of the next job to {@code out}, returning when that job has finished.
     *
     * @throws IOException, RuntimeException or Error: what the job threw, or what writing threw
     * @throws InterruptedIOException if interrupted while waiting
     */
    public void drainNext(WritableByteChannel out) throws IOException {
        while (true) {
            Object item;
            try {
                item = ready.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting for a computed tensor");
            }
            if (item == END) {
                return;
            }
            if (item instanceof ByteBuffer chunk) {
                while (chunk.hasRemaining()) {
                    out.write(chunk);
                }
                free.add(chunk);
                continue;
            }
            throw rethrow((Throwable) item);
        }
    }

    /** Stops the background thread (a running job fails at its next chunk) and waits for it. */
    @Override
    public void close() {
        closed = true;
        Joining.joinUninterruptibly(thread);
    }

    private void runAll(List<Job> jobs) {
        ChunkSink sink = new ChunkSink() {
            @Override
            public ByteBuffer take(int bytes) throws IOException {
                ByteBuffer buffer = null;
                while (buffer == null) {
                    if (closed) {
                        throw new InterruptedIOException("pipeline stopped");
                    }
                    try {
                        buffer = free.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("pipeline thread interrupted");
                    }
                }
                if (buffer.capacity() < bytes) {
                    buffer = ByteBuffer.allocateDirect(bytes);
                }
                return buffer.clear().order(ByteOrder.LITTLE_ENDIAN);
            }

            @Override
            public void put(ByteBuffer chunk) {
                ready.add(chunk);
            }
        };
        try {
            for (Job job : jobs) {
                if (closed) {
                    return;
                }
                job.run(sink);
                ready.add(END);
            }
        } catch (IOException | RuntimeException | Error e) {
            if (!closed) {
                ready.add(e);
            }
        }
    }

    private static RuntimeException rethrow(Throwable t) throws IOException {
        if (t instanceof IOException io) {
            throw io;
        }
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new UncheckedIOException(new IOException(t));
    }
}
