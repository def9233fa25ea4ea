package dev.lora4j.agent.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class AgentArgumentsTest {

    @Test
    void noArgumentMeansNoOptions() {
        assertEquals(List.of(), AgentArguments.parse(null).configs());
        assertEquals(List.of(), AgentArguments.parse("  ").configs());
    }

    @Test
    void configOptionsMayRepeat() {
        assertEquals(List.of(Path.of("lora.json")), AgentArguments.parse("config=lora.json").configs());
        assertEquals(List.of(Path.of("/etc/a.json"), Path.of("b.json")),
                AgentArguments.parse("config=/etc/a.json, config=b.json,").configs());
    }

    @Test
    void anUnknownOptionOrAMissingFileIsOneLineNamingIt() {
        assertEquals("unknown agent option 'conifg' in 'conifg=a.json'; the agent takes "
                        + "config=<target spec .json>[,config=<another .json>]",
                assertThrows(IllegalArgumentException.class, () -> AgentArguments.parse("conifg=a.json")).getMessage());
        assertEquals("unknown agent option 'lora.json' in 'lora.json'; the agent takes "
                        + "config=<target spec .json>[,config=<another .json>]",
                assertThrows(IllegalArgumentException.class, () -> AgentArguments.parse("lora.json")).getMessage());
        assertEquals("agent option 'config' needs a file: config=<target spec .json>",
                assertThrows(IllegalArgumentException.class, () -> AgentArguments.parse("config=")).getMessage());
    }
}
