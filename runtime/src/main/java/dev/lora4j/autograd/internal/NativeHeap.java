package dev.lora4j.autograd.internal;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/**
 * The C library's heap, where ND4J, oneDNN and OpenBLAS take their native memory outside the
 * {@linkplain StepMemory step's workspaces}: buffers outside a workspace, the native side of every
 * ND4J array, libraries' scratch space. glibc keeps what they free in per-thread arenas for later
 * requests and gives back to the system only the free memory at an arena's top, so a training
 * process held about 150 MB of freed pages it would not use again (the main job: 712 MB in use of
 * 909 MB taken, by {@code malloc_stats()} mid-run). {@link #releaseFree()} hands those pages back.
 *
 * <p>Only on Linux with a C library that has {@code malloc_trim} (glibc); elsewhere it does
 * nothing.
 */
public final class NativeHeap {

    private static final Function MALLOC_TRIM = lookUp();

    private NativeHeap() {}

    private static Function lookUp() {
        if (!Platform.isLinux()) {
            return null;
        }
        try {
            return NativeLibrary.getInstance(Platform.C_LIBRARY_NAME).getFunction("malloc_trim");
        } catch (LinkageError e) { // musl and others without it, or JNA's own library not loadable
            return null;
        }
    }

    /** Whether {@link #releaseFree()} can release anything on this system. */
    public static boolean supported() {
        return MALLOC_TRIM != null;
    }

    /**
     * Returns the heap's free pages to the system ({@code malloc_trim(0)}: in every arena, not only
     * at its top); the memory stays usable, a later allocation faults pages in again. It takes
     * tens of milliseconds on a heap of a few hundred megabytes: call it now and then, not per
     * step. Safe while other threads allocate.
     *
     * @return whether memory was released ({@code malloc_trim}'s own answer); false where {@linkplain
     *     #supported() unsupported}
     */
    public static boolean releaseFree() {
        return MALLOC_TRIM != null && MALLOC_TRIM.invokeInt(new Object[] {0L}) != 0;
    }
}
