package dev.lora4j.testing;

import dev.lora4j.api.LoRA;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;

/**
 * Model classes for the agent's own tests, in a package the agent instruments (it never touches
 * lora4j's runtime packages, the agent's tests' included).
 */
public final class AgentFixtures {

    private AgentFixtures() {}

    /** An annotation that is not {@code @LoRA}. */
    @Retention(RetentionPolicy.RUNTIME)
    public @interface Other {}

    /** {@code q} annotated, {@code k} not; two constructors, one delegating. */
    public static class Block extends Module {
        @LoRA(rank = 2, alpha = 4)
        public final Linear q;
        public final Linear k;

        public Block() {
            this(6);
        }

        public Block(int dim) {
            q = new Linear(dim, dim);
            k = new Linear(dim, dim);
        }
    }

    /** A field annotated with another annotation. */
    public static class Plain extends Module {
        @Other
        public final Linear q = new Linear(3, 3);
    }

    /** Holds an annotated model; declares no {@code @LoRA} field itself. */
    public static class Holder extends Module {
        public final Block inner = new Block();
    }

    /** {@code @LoRA} on a layer LoRA cannot adapt: construction fails naming the field. */
    public static class Unadaptable extends Module {
        @LoRA
        public final LayerNorm norm = new LayerNorm(4);
    }
}
