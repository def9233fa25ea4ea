/**
 * The lora4j Java agent: adapters on {@link dev.lora4j.api.LoRA @LoRA} fields, attached when a
 * model's constructor finishes, without calling {@code Lora.inject}.
 *
 * <p>Three ways to start it, all ending in the same installer, each idempotent:
 *
 * <ul>
 *   <li>{@code java -javaagent:lora4j-runtime-<version>.jar -cp <the runtime jar and its
 *       dependencies, your classes> ...}: {@link dev.lora4j.agent.LoraAgent#premain}; or, for one
 *       jar with everything, {@code -javaagent:lora4j-runtime-<version>-all.jar};
 *   <li>{@link dev.lora4j.agent.LoraAgent#install()} from inside the program (self-attach),
 *       before the models are created: classes loaded earlier are retransformed, objects created
 *       earlier are not adapted;
 *   <li>attaching the runtime jar to a running JVM: {@link dev.lora4j.agent.LoraAgent#agentmain}.
 * </ul>
 *
 * <p>The agent instruments the constructors of every class that declares a field annotated
 * {@code @LoRA}, read from the class file as it loads (Java and Kotlin alike; the annotation
 * processor checks the fields at compile time but is not needed here). At constructor exit it calls
 * {@link dev.lora4j.lora.internal.AnnotationInjector#injectOwnFields}, the same insertion
 * {@code Lora.inject} uses; the forward pass is not instrumented. The JDK, Byte Buddy, ND4J and
 * lora4j's own runtime packages are never instrumented.
 *
 * <p>Classes that cannot be annotated are named, with a PEFT-style config, in a {@link
 * dev.lora4j.agent.TargetSpec}: {@code -javaagent:lora4j-runtime-<version>.jar=config=lora.json}, or
 * {@link dev.lora4j.agent.LoraAgent#install(java.nio.file.Path)} in code. Their constructors are
 * instrumented by name, and when the outermost one finishes the model is adapted as
 * {@code Lora.wrap(model, config)} would (the rule for subclasses and nested models is in {@link
 * dev.lora4j.agent.LoraAgent}).
 *
 * <p>Null-marked (JSpecify): parameters and results are non-null unless annotated
 * {@code @Nullable}.
 */
@NullMarked
package dev.lora4j.agent;

import org.jspecify.annotations.NullMarked;
