package dev.lora4j.agent.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.agent.TargetSpec;
import dev.lora4j.lora.LoraConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class TargetRegistryTest {

    private static final LoraConfig CONFIG = LoraConfig.builder().targetModules("q").build();

    @Test
    void specsAreFoundByClassNameAndAddingTheSameOneAgainChangesNothing() {
        TargetRegistry registry = new TargetRegistry();
        TargetSpec spec = TargetSpec.of(CONFIG, "com.acme.A", "com.acme.B");
        assertEquals(List.of(spec), registry.add(List.of(spec)));
        assertSame(spec, registry.forClass("com.acme.B"));
        assertTrue(registry.names("com.acme.A"));
        assertFalse(registry.names("com.acme.C"));
        assertEquals(List.of(), registry.add(List.of(TargetSpec.of(CONFIG, "com.acme.A", "com.acme.B"))),
                "same source and classes: already there");
        assertEquals(List.of(spec), registry.specs());
    }

    @Test
    void aClassNamedByTwoSpecsIsAnErrorAndNothingOfTheCallIsAdded() {
        TargetRegistry registry = new TargetRegistry();
        registry.add(List.of(TargetSpec.of(CONFIG, "com.acme.A")));
        TargetSpec other = TargetSpec.of(LoraConfig.builder().targetModules("v").build(), "com.acme.C", "com.acme.A");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> registry.add(List.of(TargetSpec.of(CONFIG, "com.acme.D"), other)));
        assertEquals("com.acme.A is named by two target specs, LoraConfig for [com.acme.A] and LoraConfig for "
                + "[com.acme.C, com.acme.A]; name each model class once", e.getMessage());
        assertFalse(registry.names("com.acme.C"));
        assertFalse(registry.names("com.acme.D"));
        assertEquals(1, registry.specs().size());
    }

    @Test
    void removingASpecForgetsItsClasses() {
        TargetRegistry registry = new TargetRegistry();
        TargetSpec spec = TargetSpec.of(CONFIG, "com.acme.A");
        registry.add(List.of(spec));
        registry.remove(spec);
        assertFalse(registry.names("com.acme.A"));
        assertEquals(List.of(), registry.specs());
    }
}
