package dev.lora4j.agent.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.lora.LoraLayers;
import dev.lora4j.nn.Linear;
import dev.lora4j.testing.AgentFixtures.Block;
import dev.lora4j.testing.AgentFixtures.Unadaptable;
import java.lang.reflect.InvocationTargetException;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.dynamic.loading.ClassLoadingStrategy;
import org.junit.jupiter.api.Test;

/** The advice woven as the agent weaves it, but into a copy of the class in a child loader: no agent needed. */
class ConstructorAdviceTest {

    private static Class<?> woven(Class<?> type) {
        return new ByteBuddy()
                .decorate(type)
                .visit(LoraTransformer.constructorExit())
                .make()
                .load(type.getClassLoader(), ClassLoadingStrategy.Default.CHILD_FIRST)
                .getLoaded();
    }

    @Test
    void constructorsAttachAdaptersOnceAndOnlyToAnnotatedFields() throws ReflectiveOperationException {
        Class<?> type = woven(Block.class);
        for (Object block : new Object[] {type.getConstructor().newInstance(), type.getConstructor(int.class).newInstance(8)}) {
            Linear q = (Linear) type.getField("q").get(block);
            Linear k = (Linear) type.getField("k").get(block);
            assertNotNull(LoraLayers.of(q), "adapted at construction");
            assertEquals(1, LoraLayers.of(q).adapters().size(), "the delegating constructor adds nothing");
            assertNull(LoraLayers.of(k));
            assertTrue(!q.weight().isTrainable() && LoraLayers.of(q).adapter("default").a().isTrainable());
        }
        assertNull(LoraLayers.of(new Block().q), "the original class is untouched");
    }

    @Test
    void aFieldThatCannotBeAdaptedFailsTheConstructorNamingIt() throws ReflectiveOperationException {
        Class<?> type = woven(Unadaptable.class);
        InvocationTargetException thrown = assertThrows(InvocationTargetException.class,
                () -> type.getConstructor().newInstance());
        assertTrue(thrown.getCause() instanceof IllegalArgumentException, String.valueOf(thrown.getCause()));
        assertTrue(thrown.getCause().getMessage().contains(Unadaptable.class.getName() + "#norm"),
                thrown.getCause().getMessage());
    }
}
