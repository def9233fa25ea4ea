package dev.lora4j.api;

/**
 * Configures a mutable spec object: the lambda type of lora4j's configuration blocks. It throws no
 * checked exceptions, so a Java lambda ({@code spec -> spec.setRank(8)}) and a Kotlin lambda both
 * fit; with Kotlin's {@code sam-with-receiver} plugin (see {@link ImplicitReceiver}) the spec is the
 * Kotlin lambda's receiver ({@code { rank = 8 }}).
 *
 * @param <T> the type of the object being configured
 */
@ImplicitReceiver
@FunctionalInterface
public interface Configure<T> {

    /** Sets what the block wants on {@code spec}. */
    void configure(T spec);
}
