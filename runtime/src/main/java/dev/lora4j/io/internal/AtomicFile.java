package dev.lora4j.io.internal;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;

/**
 * Writes a file all-or-nothing: the bytes go to a temporary file {@code .<name>.tmp-<random>} in
 * the destination's directory, which {@link #commit()} flushes to disk ({@code force(true)}) and
 * renames over the destination atomically. Until then the destination is untouched; {@link
 * #abort()} (or {@link #close()} without a commit) deletes the temporary file. A process killed
 * mid-write leaves its temporary file behind; the next {@link #create} for the same destination
 * deletes it.
 *
 * <p>For large files, {@link #flushInBackground} starts a thread that forces the data written so
 * far to disk every few milliseconds, so the disk writes overlap with the writing and {@link
 * #commit()} has little left to force.
 */
public final class AtomicFile implements Closeable {

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private boolean finished;
    private BackgroundFlush flusher;

    private AtomicFile(Path target, Path temp, FileChannel channel) {
        this.target = target;
        this.temp = temp;
        this.channel = channel;
    }

    /**
     * Creates the temporary file next to {@code target}, with the default permissions. Temporary
     * files of earlier writes to the same target that never finished (the process was killed) are
     * deleted first, so they do not pile up; two writers to one target at once are not supported
     * (the last rename would win anyway).
     */
    public static AtomicFile create(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        String name = absolute.getFileName().toString();
        deleteStale(dir, "." + name + ".tmp-");
        for (int attempt = 0; ; attempt++) {
            Path temp = dir.resolve("." + name + ".tmp-" + Long.toUnsignedString(RANDOM.nextLong(), 36));
            try {
                FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                return new AtomicFile(absolute, temp, channel);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 10) {
                    throw e;
                }
            }
        }
    }

    /** The channel writing the temporary file. */
    public FileChannel channel() {
        return channel;
    }

    /**
     * Starts a daemon thread that forces the written data to disk ({@code force(false)}) every
     * {@code intervalMillis} until {@link #commit()} or {@link #abort()}. Its failures are ignored:
     * {@link #commit()} forces everything again and reports them. At most once per file.
     */
    public void flushInBackground(long intervalMillis) {
        if (flusher == null && !finished) {
            flusher = BackgroundFlush.start(channel, intervalMillis, "lora4j-flush " + target.getFileName());
        }
    }

    /** The temporary file's path. */
    public Path tempPath() {
        return temp;
    }

    /**
     * Flushes the temporary file to disk and renames it over the destination. On failure the
     * temporary file is deleted and the destination keeps its old content.
     */
    public void commit() throws IOException {
        if (finished) {
            throw new IllegalStateException("already committed or aborted: " + target);
        }
        finished = true;
        stopFlusher();
        try {
            channel.force(true);
            channel.close();
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot replace " + target + " atomically on this file system", e);
            }
        } catch (IOException | RuntimeException | Error e) {
            deleteTemp(e);
            throw e;
        }
        syncDirectory(target.getParent());
    }

    /** Deletes the temporary file; the destination is left as it was. Safe to call repeatedly. */
    public void abort() {
        if (finished) {
            return;
        }
        finished = true;
        stopFlusher();
        deleteTemp(null);
    }

    /** Aborts unless {@link #commit()} ran. */
    @Override
    public void close() {
        abort();
    }

    private void stopFlusher() {
        if (flusher != null) {
            flusher.stop();
        }
    }

    private void deleteTemp(Throwable primary) {
        try {
            channel.close();
        } catch (IOException e) {
            if (primary != null) {
                primary.addSuppressed(e);
            }
        }
        try {
            Files.deleteIfExists(temp);
        } catch (IOException e) {
            if (primary != null) {
                primary.addSuppressed(e);
            }
        }
    }

    /**
     * Deletes the files in {@code dir} whose names start with {@code prefix} (leftovers of writes
     * that were killed); failures to delete are ignored.
     *
     * @return how many were deleted
     */
    public static int deleteStale(Path dir, String prefix) throws IOException {
        int deleted = 0;
        try (DirectoryStream<Path> stale = Files.newDirectoryStream(dir, entry -> entry.getFileName().toString()
                .startsWith(prefix))) {
            for (Path p : stale) {
                try {
                    if (Files.deleteIfExists(p)) {
                        deleted++;
                    }
                } catch (IOException ignored) {
                    // another writer's file, or permissions: not ours to insist on
                }
            }
        } catch (NoSuchFileException e) {
            return 0;
        }
        return deleted;
    }

    /** Makes the rename durable where the platform allows opening a directory (Linux, macOS). */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // best effort: the data itself is already on disk
        }
    }
}
