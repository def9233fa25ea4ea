package dev.lora4j.agent.internal;

import java.io.IOException;
import java.io.InputStream;
import net.bytebuddy.dynamic.ClassFileLocator;
import org.jspecify.annotations.Nullable;

/**
 * Class files as a class loader's resources ({@code a/b/C.class}). Byte Buddy's own locator for
 * class loaders prepares a class injector when it is first used, which generated a helper class
 * and took about 250 ms of the agent's start (BENCHMARKS.md, "The agent's start"); reading the
 * resource needs none of that.
 */
final class ResourceLocator implements ClassFileLocator {

    private final ClassLoader loader;

    /** Class files of {@code loader}, or of the system class loader (which asks the boot loader first) for null. */
    ResourceLocator(@Nullable ClassLoader loader) {
        this.loader = loader == null ? ClassLoader.getSystemClassLoader() : loader;
    }

    @Override
    public Resolution locate(String name) throws IOException {
        byte[] classFile = read(loader, name);
        return classFile == null ? new Resolution.Illegal(name) : new Resolution.Explicit(classFile);
    }

    /** The class file of the class {@code name} (binary name) as {@code loader}'s resource, or null. */
    static byte @Nullable [] read(ClassLoader loader, String name) throws IOException {
        try (InputStream in = loader.getResourceAsStream(name.replace('.', '/') + ".class")) {
            return in == null ? null : in.readAllBytes();
        }
    }

    @Override
    public void close() {}
}
