package dev.lora4j.lora;

import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A per-thread choice of adapters, for serving several adapters over one base model at once.
 *
 * <p>While a scope is open on a thread, every LoRA layer that thread runs applies the scope's
 * adapters instead of the model's active set (and regardless of {@link LoraModel#disableAdapters()}):
 *
 * <pre>{@code
 * try (AdapterScope ignored = lora.scope("b");            // validated against the model
 *      GradMode.Scope noGrad = GradMode.disable()) {
 *     Tensor y = lora.model().forward(x);                 // adapter "b" only, on this thread only
 * }
 * try (AdapterScope ignored = AdapterScope.none()) {
 *     Tensor y = lora.model().forward(x);                 // the base model's output
 * }
 * }</pre>
 *
 * <p>The base weights are shared, never copied, and other threads are not affected. A layer that
 * does not carry a chosen adapter adds nothing for it. Merged adapters live inside the base
 * weights and cannot be switched off per thread: a layer with merged adapters throws an {@link
 * IllegalStateException} when it runs inside a scope. {@code modules_to_save} modules are plain
 * modules and keep the model-wide adapter's weights; {@link LoraModel#scope} refuses models that
 * have them.
 *
 * <p>Scopes nest (closing restores the enclosing one) and must be closed on the thread that opened
 * them, in reverse order. Until the first scope is opened anywhere, layers pay one static field read
 * for this feature; afterwards one field read and one {@link ThreadLocal#get()} per layer call.
 */
public final class AdapterScope implements AutoCloseable {

    private static final ThreadLocal<AdapterScope> CURRENT = new ThreadLocal<>();
    private static volatile boolean everUsed;

    private final List<String> adapters;
    private final @Nullable AdapterScope enclosing;
    private final Thread owner;
    private boolean closed;

    private AdapterScope(List<String> adapters) {
        this.adapters = adapters;
        this.enclosing = CURRENT.get();
        this.owner = Thread.currentThread();
    }

    /**
     * Applies exactly the named adapters on this thread until closed. Names are not checked here
     * (a layer simply lacks an unknown name); {@link LoraModel#scope} checks them against a model.
     */
    public static AdapterScope use(String... adapters) {
        for (String name : adapters) {
            Objects.requireNonNull(name, "adapter name");
        }
        return open(List.of(adapters));
    }

    /** No adapter on this thread until closed: LoRA layers compute their base output. */
    public static AdapterScope none() {
        return open(List.of());
    }

    /** The scope open on this thread, or {@code null} when the model's own active set applies. */
    public static @Nullable AdapterScope current() {
        return everUsed ? CURRENT.get() : null;
    }

    private static AdapterScope open(List<String> adapters) {
        everUsed = true;
        AdapterScope scope = new AdapterScope(adapters);
        CURRENT.set(scope);
        return scope;
    }

    /** The adapters this scope applies; empty for {@link #none()}. */
    public List<String> adapters() {
        return adapters;
    }

    /** Whether this scope computes base outputs only. */
    public boolean isNone() {
        return adapters.isEmpty();
    }

    /**
     * Restores the enclosing scope (or none).
     *
     * @throws IllegalStateException when called on another thread or out of nesting order
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("an AdapterScope must be closed on the thread that opened it ("
                    + owner.getName() + ")");
        }
        if (CURRENT.get() != this) {
            throw new IllegalStateException("AdapterScope closed out of order: close inner scopes first");
        }
        closed = true;
        if (enclosing == null) {
            CURRENT.remove();
        } else {
            CURRENT.set(enclosing);
        }
    }

    @Override
    public String toString() {
        return isNone() ? "AdapterScope[none]" : "AdapterScope" + adapters;
    }
}
