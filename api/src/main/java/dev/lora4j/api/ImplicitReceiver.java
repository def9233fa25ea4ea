package dev.lora4j.api;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a one-method interface whose single parameter is the object being configured, such as
 * {@link Configure}. Kotlin's {@code sam-with-receiver} compiler plugin, told about this annotation,
 * turns a Kotlin lambda for such an interface into a lambda <em>with receiver</em>: the parameter
 * becomes {@code this}, so its JavaBean properties read as plain assignments.
 *
 * <pre>{@code
 * // Kotlin, with sam-with-receiver:annotation=dev.lora4j.api.ImplicitReceiver
 * val lora = lora(MyModel()) { rank = 8; alpha = 16.0; targets("query", "value") }
 * // Kotlin without the plugin: the same lambda takes the spec as `it`
 * val lora = lora(MyModel()) { it.rank = 8; it.alpha = 16.0; it.targets("query", "value") }
 * }</pre>
 *
 * <p>Maven: add {@code sam-with-receiver} to the {@code kotlin-maven-plugin}'s
 * {@code compilerPlugins}, the option {@code sam-with-receiver:annotation=dev.lora4j.api.ImplicitReceiver}
 * to its {@code pluginOptions}, and {@code org.jetbrains.kotlin:kotlin-maven-sam-with-receiver} to
 * its dependencies. Gradle: {@code plugins { kotlin("plugin.sam.with.receiver") }} and
 * {@code samWithReceiver { annotation("dev.lora4j.api.ImplicitReceiver") }}. The same idea as
 * Gradle's {@code @HasImplicitReceiver} on its {@code Action}.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface ImplicitReceiver {}
