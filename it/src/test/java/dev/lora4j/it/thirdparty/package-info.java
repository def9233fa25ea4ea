/**
 * Models written as third-party code is: no lora4j annotation anywhere (and this module compiles
 * with {@code -proc:none}). The target specs in {@code src/test/resources/agent-specs} name them
 * for {@link dev.lora4j.it.TargetSpecDoorIT}.
 */
package dev.lora4j.it.thirdparty;
