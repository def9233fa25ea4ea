package dev.lora4j.autograd;

/**
 * Whether operations on the current thread record a graph for backpropagation.
 *
 * <pre>{@code
 * try (GradMode.Scope ignored = GradMode.disable()) {
 *     Tensor logits = model.forward(x);   // no graph, no gradient buffers
 * }
 * }</pre>
 */
public final class GradMode {

    private static final ThreadLocal<Boolean> ENABLED = ThreadLocal.withInitial(() -> Boolean.TRUE);

    private GradMode() {}

    /** Whether graph recording is on for this thread (it is unless disabled). */
    public static boolean isEnabled() {
        return ENABLED.get();
    }

    /** Turns graph recording off on this thread until the returned scope closes. */
    public static Scope disable() {
        boolean previous = ENABLED.get();
        ENABLED.set(Boolean.FALSE);
        return () -> ENABLED.set(previous);
    }

    /** Restores the previous grad mode when closed. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }
}
