package dev.lora4j.agent;

import dev.lora4j.agent.internal.AgentInstaller;
import java.lang.instrument.Instrumentation;
import java.util.Optional;
import net.bytebuddy.agent.ByteBuddyAgent;

/**
 * Entry points of the lora4j Java agent. {@link #premain} and {@link #agentmain} only hand the
 * {@link Instrumentation} to the one installer; {@link #install()} obtains it by attaching to the
 * running JVM. Whichever comes first installs the agent; later calls change nothing and return
 * the same {@link AgentInstallation}.
 *
 * <pre>{@code
 * LoraAgent.install();                      // or run with -javaagent:lora4j-runtime.jar
 * MyModel model = new MyModel();            // @LoRA fields adapted by the constructor
 * LoraModel<MyModel> lora = Lora.adopt(model);
 * }</pre>
 *
 * <p>Agent arguments ({@code -javaagent:lora4j.jar=...}) are reserved and currently ignored.
 */
public final class LoraAgent {

    private LoraAgent() {}

    /**
     * Called by the JVM for {@code -javaagent:}, before {@code main}.
     *
     * @param arguments the text after {@code =}, or {@code null}; reserved
     * @param instrumentation supplied by the JVM
     */
    public static void premain(String arguments, Instrumentation instrumentation) {
        AgentInstaller.install(instrumentation, AgentInstallation.Mode.PREMAIN);
    }

    /**
     * Called by the JVM when the agent jar is attached to a running JVM; classes already loaded
     * are retransformed.
     *
     * @param arguments the agent arguments, or {@code null}; reserved
     * @param instrumentation supplied by the JVM
     */
    public static void agentmain(String arguments, Instrumentation instrumentation) {
        AgentInstaller.install(instrumentation, AgentInstallation.Mode.AGENTMAIN);
    }

    /**
     * Installs the agent in this JVM by attaching to it (which needs a JDK, not only a JRE), unless
     * it is installed already. Call it before creating models: classes loaded earlier are
     * retransformed, but objects constructed earlier keep no adapters (use
     * {@code Lora.inject} for those).
     *
     * @return the installation, the same object on every call
     * @throws IllegalStateException when the JVM does not allow attaching
     */
    public static synchronized AgentInstallation install() {
        AgentInstallation existing = AgentInstaller.installation();
        if (existing != null) {
            return existing;
        }
        return AgentInstaller.install(ByteBuddyAgent.install(), AgentInstallation.Mode.SELF_ATTACH);
    }

    /** The installation, when the agent runs in this JVM. */
    public static Optional<AgentInstallation> installation() {
        return Optional.ofNullable(AgentInstaller.installation());
    }
}
