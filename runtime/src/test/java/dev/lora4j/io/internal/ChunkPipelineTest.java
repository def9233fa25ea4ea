package dev.lora4j.io.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.io.AdapterException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Jobs run ahead on their own thread, their bytes arrive in order, their failures reach the writer, and close stops them. */
class ChunkPipelineTest {

    private static ChunkPipeline.Job bytes(int first, int chunks, int size) {
        return sink -> {
            for (int c = 0; c < chunks; c++) {
                ByteBuffer b = sink.take(size);
                for (int i = 0; i < size; i++) {
                    b.put((byte) (first + c * size + i));
                }
                sink.put(b.flip());
            }
        };
    }

    @Test
    void eachDrainWritesOneJobsBytesInOrder() throws IOException {
        List<ChunkPipeline.Job> jobs = List.of(bytes(0, 5, 3), bytes(100, 0, 3), bytes(50, 2, 7));
        try (ChunkPipeline pipeline = new ChunkPipeline(jobs, 2, "test-pipeline")) {
            for (int j = 0; j < jobs.size(); j++) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                pipeline.drainNext(Channels.newChannel(out));
                byte[] got = out.toByteArray();
                int first = j == 0 ? 0 : j == 1 ? 100 : 50;
                byte[] want = new byte[j == 0 ? 15 : j == 1 ? 0 : 14];
                for (int i = 0; i < want.length; i++) {
                    want[i] = (byte) (first + i);
                }
                assertArrayEquals(want, got, "job " + j);
            }
        }
    }

    @Test
    void aJobsExceptionIsRethrownByTheDrainThatReachesIt() throws IOException {
        AdapterException failure = new AdapterException("bad values");
        List<ChunkPipeline.Job> jobs = List.of(bytes(0, 1, 4), sink -> {
            sink.put(sink.take(4).put(new byte[4]).flip());
            throw failure;
        });
        try (ChunkPipeline pipeline = new ChunkPipeline(jobs, 2, "test-pipeline")) {
            pipeline.drainNext(Channels.newChannel(new ByteArrayOutputStream()));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            AdapterException e = assertThrows(AdapterException.class, () -> pipeline.drainNext(Channels.newChannel(out)));
            assertSame(failure, e);
            assertEquals(4, out.size(), "what the job produced before failing was written");
        }
    }

    @Test
    void closeStopsAJobThatIsAheadOfTheWriter() throws IOException {
        AtomicInteger produced = new AtomicInteger();
        List<Throwable> seen = new ArrayList<>();
        ChunkPipeline.Job endless = sink -> {
            try {
                while (true) {
                    sink.put(sink.take(8).put(new byte[8]).flip());
                    produced.incrementAndGet();
                }
            } catch (IOException | RuntimeException e) {
                seen.add(e);
                throw e;
            }
        };
        ChunkPipeline pipeline = new ChunkPipeline(List.of(endless), 3, "test-pipeline");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (produced.get() < 3 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(3, produced.get(), "the job runs ahead by the number of buffers, then waits");
        pipeline.close();
        assertEquals(1, seen.size(), "the waiting job was stopped");
        assertTrue(seen.get(0) instanceof java.io.InterruptedIOException, seen.toString());
        assertFalse(Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("test-pipeline")));
    }

    @Test
    void aWriteFailureSurfacesAndCloseStillStopsTheJobs() {
        WritableByteChannel broken = new WritableByteChannel() {
            @Override
            public int write(ByteBuffer src) throws IOException {
                throw new IOException("disk full");
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {}
        };
        ChunkPipeline pipeline = new ChunkPipeline(List.of(bytes(0, 100, 16)), 2, "test-pipeline");
        IOException e = assertThrows(IOException.class, () -> pipeline.drainNext(broken));
        assertEquals("disk full", e.getMessage());
        pipeline.close();
    }
}
