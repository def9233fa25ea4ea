package dev.lora4j.agent;

import java.lang.instrument.Instrumentation;
import java.util.List;
import java.util.Set;

/** The state of the lora4j agent in this JVM, the same object for every installation call. */
public interface AgentInstallation {

    /** How the agent was started. */
    enum Mode {
        /** {@code -javaagent:} on the command line ({@code premain}). */
        PREMAIN,
        /** Attached to a running JVM ({@code agentmain}). */
        AGENTMAIN,
        /** {@link LoraAgent#install()} from inside the program. */
        SELF_ATTACH
    }

    /** How the agent was started; later calls do not change it. */
    Mode mode();

    /** The instrumentation the agent was installed with. */
    Instrumentation instrumentation();

    /** Binary names of the classes whose constructors the agent instrumented so far; a snapshot. */
    Set<String> transformedClasses();

    /** The target specs in force, in the order added; a snapshot. */
    List<TargetSpec> targetSpecs();
}
