package dev.lora4j.autograd.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

class NativeHeapTest {

    private static final int CHUNKS = 800;
    /** Below glibc's smallest mmap threshold (128 KiB), so the chunks come from an arena. */
    private static final long CHUNK = 100 << 10;

    @Test
    void isSupportedOnGlibcLinux() {
        assumeTrue(Files.exists(Path.of("/proc/self/status")), "not Linux");
        assumeTrue(!Files.exists(Path.of("/lib/ld-musl-x86_64.so.1")), "musl has no malloc_trim");
        assertTrue(NativeHeap.supported());
    }

    /**
     * Every other chunk of 80 MB freed, between chunks still in use: 40 MB that stays resident (glibc
     * gives back by itself only what joins an arena's top); releasing hands at least half of it back.
     */
    @Test
    void releasesFreedPagesBetweenBlocksInUse() throws IOException {
        assumeTrue(NativeHeap.supported(), "no malloc_trim here");
        List<Pointer> freed = new ArrayList<>();
        List<Pointer> kept = new ArrayList<>();
        try {
            for (int i = 0; i < CHUNKS; i++) {
                Pointer chunk = Pointer.malloc(CHUNK);
                Pointer.memset(chunk, 1, CHUNK); // resident
                (i % 2 == 0 ? freed : kept).add(chunk);
            }
            freed.forEach(Pointer::free);
            freed.clear();
            long before = residentKb();
            NativeHeap.releaseFree();
            long after = residentKb();
            long freedKb = (CHUNKS / 2) * CHUNK >> 10;
            assertTrue(before - after >= freedKb / 2,
                    "resident " + before + " kB before, " + after + " kB after; expected at least "
                            + freedKb / 2 + " kB fewer");
        } finally {
            freed.forEach(Pointer::free);
            kept.forEach(Pointer::free);
        }
    }

    private static long residentKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
