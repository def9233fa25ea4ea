package dev.lora4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Lora;
import dev.lora4j.agent.AgentInstallation;
import dev.lora4j.agent.LoraAgent;
import dev.lora4j.it.thirdparty.EarlyModel;
import dev.lora4j.lora.LoraLayers;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Door (b): no {@code -javaagent}; {@link LoraAgent#install()} attaches the agent from inside. A
 * surefire execution of its own, so that the agent never shares a JVM with {@link InjectDoorTest}.
 */
class SelfAttachDoorTest extends FrontDoorContract {

    private static AgentInstallation installation;
    private static boolean preloadedBeforeInstall;

    @BeforeAll
    static void attach() throws ClassNotFoundException {
        assertFalse(startedWithJavaagent(), "no -javaagent in this JVM");
        assertTrue(LoraAgent.installation().isEmpty(), "nothing installed before install()");
        Class.forName(PreloadedModel.class.getName(), true, SelfAttachDoorTest.class.getClassLoader());
        preloadedBeforeInstall = true;
        installation = LoraAgent.install();
    }

    @Override
    String door() {
        return "self-attach";
    }

    @Override
    boolean adaptsAtConstruction() {
        return true;
    }

    @Override
    Set<String> transformedClasses() {
        return installation.transformedClasses();
    }

    @Override
    void assertThisIsTheDoor() {
        assertEquals(AgentInstallation.Mode.SELF_ATTACH, installation.mode());
        assertSame(installation, LoraAgent.install(), "installing again changes nothing");
        assertSame(installation, LoraAgent.installation().orElseThrow());
        assertEquals(ADAPTED, adaptedPaths(newModel()), "the constructor was instrumented: adapters without inject");
    }

    @Test
    void aTargetSpecFileAddedAtRunTimeRetransformsItsAlreadyLoadedClass() {
        assertNull(LoraLayers.of(new EarlyModel().proj), "loaded and constructed before the spec");
        Path spec = Path.of(System.getProperty("lora4j.agent.specs"), "early-model.json");
        assertSame(installation, LoraAgent.install(spec));
        assertSame(installation, LoraAgent.install(spec), "adding the same file again changes nothing");
        assertEquals(1, installation.targetSpecs().size());
        assertTrue(installation.transformedClasses().contains(EarlyModel.class.getName()));
        EarlyModel model = new EarlyModel();
        assertEquals(List.of("proj"), adaptedPaths(model));
        assertEquals(2 * (4 + 4), model.trainableParameterCount());
        assertEquals(installation.targetSpecs().get(0).config(), Lora.adopt(model).config("default"));
    }

    @Test
    void aClassLoadedBeforeTheAttachIsRetransformed() {
        assertTrue(preloadedBeforeInstall);
        assertTrue(installation.transformedClasses().contains(PreloadedModel.class.getName()));
        assertEquals(List.of("only"), adaptedPaths(new PreloadedModel()));
    }
}
