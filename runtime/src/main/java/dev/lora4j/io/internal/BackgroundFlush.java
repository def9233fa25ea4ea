package dev.lora4j.io.internal;

import java.io.IOException;
import java.nio.channels.FileChannel;

/**
 * A daemon thread that forces a file's written data to disk at a fixed interval while another
 * thread is still writing it, so that the final {@code force} finds little left to write. It is
 * never interrupted (that would close the channel); {@link #stop()} asks it to finish and waits.
 * An I/O failure ends it quietly: whoever commits the file forces it again and sees the error.
 */
final class BackgroundFlush implements Runnable {

    private final FileChannel channel;
    private final long intervalMillis;
    private final Thread thread;
    private boolean stopped;

    private BackgroundFlush(FileChannel channel, long intervalMillis, String name) {
        this.channel = channel;
        this.intervalMillis = intervalMillis;
        this.thread = new Thread(this, name);
        thread.setDaemon(true);
    }

    static BackgroundFlush start(FileChannel channel, long intervalMillis, String name) {
        BackgroundFlush flush = new BackgroundFlush(channel, intervalMillis, name);
        flush.thread.start();
        return flush;
    }

    @Override
    public void run() {
        try {
            while (waitInterval()) {
                channel.force(false);
            }
        } catch (IOException e) {
            // the committing thread forces the file again and reports the failure
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Asks the thread to stop and waits until it has (after the flush in progress, if any). */
    void stop() {
        synchronized (this) {
            stopped = true;
            notifyAll();
        }
        Joining.joinUninterruptibly(thread);
    }

    /** Waits one interval; false once stopped. */
    private synchronized boolean waitInterval() throws InterruptedException {
        long deadline = System.nanoTime() + intervalMillis * 1_000_000L;
        while (!stopped) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return true;
            }
            wait(Math.max(1, left / 1_000_000L));
        }
        return false;
    }
}
