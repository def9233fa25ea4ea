package dev.lora4j.agent.internal;

import dev.lora4j.agent.AgentInstallation;
import java.lang.instrument.Instrumentation;
import java.util.Objects;

/**
 * The one installer every entry point calls: the first call installs the transformer built by
 * {@link LoraAgentBuilder}, later calls return the same {@link AgentInstallation}.
 */
public final class AgentInstaller {

    private static volatile AgentInstallation installed;

    private AgentInstaller() {}

    /**
     * Installs the agent unless it is installed already.
     *
     * @param mode how the agent was started; classes already loaded are retransformed unless it is
     *     {@link AgentInstallation.Mode#PREMAIN}
     * @return the installation, the same object on every call
     */
    public static synchronized AgentInstallation install(Instrumentation instrumentation, AgentInstallation.Mode mode) {
        Objects.requireNonNull(instrumentation, "instrumentation");
        Objects.requireNonNull(mode, "mode");
        if (installed == null) {
            TransformationListener listener = new TransformationListener();
            boolean retransform = mode != AgentInstallation.Mode.PREMAIN;
            LoraAgentBuilder.create(instrumentation, retransform, listener).installOn(instrumentation);
            installed = new Installation(mode, instrumentation, listener);
        }
        return installed;
    }

    /** The installation, or {@code null} when the agent is not installed. */
    public static AgentInstallation installation() {
        return installed;
    }
}
