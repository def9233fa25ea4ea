package dev.lora4j.agent.internal;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Says once that a class was matched by its {@code @LoRA} annotation rather than by the index, that
 * is, that it was compiled without the lora4j processor. Further such classes are logged at debug
 * level.
 */
final class FallbackNotice {

    private final AtomicBoolean said = new AtomicBoolean();

    void used(String className) {
        if (said.compareAndSet(false, true)) {
            AgentLog.info("lora4j agent: " + className + " declares @LoRA fields but is not in any "
                    + "META-INF/lora4j/lora.index; matching it by annotation (slower: every loaded class is "
                    + "inspected). Compile with lora4j-processor on the annotation processor path to avoid this.");
        } else {
            AgentLog.debug("lora4j agent: " + className + " matched by its @LoRA annotation (not indexed)");
        }
    }
}
