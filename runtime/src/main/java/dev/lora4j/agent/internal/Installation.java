package dev.lora4j.agent.internal;

import dev.lora4j.agent.AgentInstallation;
import java.lang.instrument.Instrumentation;
import java.util.Set;

/** The agent's state: how it started and what it transformed. */
final class Installation implements AgentInstallation {

    private final Mode mode;
    private final Instrumentation instrumentation;
    private final TransformationListener listener;

    Installation(Mode mode, Instrumentation instrumentation, TransformationListener listener) {
        this.mode = mode;
        this.instrumentation = instrumentation;
        this.listener = listener;
    }

    @Override
    public Mode mode() {
        return mode;
    }

    @Override
    public Instrumentation instrumentation() {
        return instrumentation;
    }

    @Override
    public Set<String> transformedClasses() {
        return listener.transformed();
    }

    @Override
    public String toString() {
        return "lora4j agent (" + mode + ", classes instrumented: " + listener.transformed().size() + ")";
    }
}
