package dev.lora4j.agent.internal;

import dev.lora4j.agent.AgentInstallation;
import dev.lora4j.agent.TargetSpec;
import java.lang.instrument.Instrumentation;
import java.util.List;
import java.util.Set;

/** The agent's state: how it started and what it transformed. */
final class Installation implements AgentInstallation {

    private final Mode mode;
    private final Instrumentation instrumentation;
    private final TransformationListener listener;
    private final boolean retransforms;
    private final TargetRegistry targets;

    Installation(Mode mode, Instrumentation instrumentation, TransformationListener listener, boolean retransforms,
            TargetRegistry targets) {
        this.mode = mode;
        this.instrumentation = instrumentation;
        this.listener = listener;
        this.retransforms = retransforms;
        this.targets = targets;
    }

    /** Whether the transformer was installed able to retransform loaded classes (a run-time attach). */
    boolean retransforms() {
        return retransforms;
    }

    @Override
    public List<TargetSpec> targetSpecs() {
        return targets.specs();
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
        return "lora4j agent (" + mode + ", classes instrumented: " + listener.transformed().size()
                + (targets.specs().isEmpty() ? "" : ", target specs: " + targets.specs().size()) + ")";
    }
}
