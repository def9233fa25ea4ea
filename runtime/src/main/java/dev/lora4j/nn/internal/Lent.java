package dev.lora4j.nn.internal;

import org.jspecify.annotations.Nullable;

/**
 * Internal plumbing, not API: the one slot through which a package lends an implementation of its
 * package-private operations to lora4j's own code in other packages (the shared-secrets pattern
 * behind {@link AdapterAttachments} and {@code dev.lora4j.lora.internal.LayerMutations}). The
 * owning class registers the implementation from its static initialiser, once; a second
 * registration is refused, so no other code can take the slot over, and reading the slot first
 * initialises the owner, so it is filled before it is read.
 *
 * @param <T> what is lent
 */
public final class Lent<T> {

    private final Class<?> owner;
    private final String what;
    private volatile @Nullable T implementation;

    /**
     * An empty slot.
     *
     * @param owner the class whose static initialiser registers the implementation
     * @param what what is lent, for error messages ("layer mutations")
     */
    public Lent(Class<?> owner, String what) {
        this.owner = owner;
        this.what = what;
    }

    /**
     * Fills the slot.
     *
     * @throws IllegalStateException when it is filled already
     */
    public synchronized void register(T lent) {
        if (implementation != null) {
            throw new IllegalStateException("the " + what + " are registered already");
        }
        implementation = lent;
    }

    /**
     * The implementation, after initialising the owner if nothing is registered yet.
     *
     * @throws IllegalStateException when the owner registered nothing
     */
    public T get() {
        T lent = implementation;
        if (lent == null) {
            try {
                Class.forName(owner.getName(), true, owner.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
            lent = implementation;
            if (lent == null) {
                throw new IllegalStateException(owner.getName() + " registered no " + what);
            }
        }
        return lent;
    }
}
