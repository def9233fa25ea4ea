package dev.lora4j.io.internal;

/** Waiting for a background thread to end. */
final class Joining {

    private Joining() {}

    /**
     * Waits until {@code thread} has ended, even if this thread is interrupted meanwhile; the
     * interrupt is restored afterwards.
     */
    static void joinUninterruptibly(Thread thread) {
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
