package dev.lora4j.agent;

import dev.lora4j.agent.internal.AgentArguments;
import dev.lora4j.agent.internal.AgentInstaller;
import dev.lora4j.lora.LoraConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.instrument.Instrumentation;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import net.bytebuddy.agent.ByteBuddyAgent;
import org.jspecify.annotations.Nullable;

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
 * <h2>Target specs: classes without {@code @LoRA}</h2>
 *
 * <p>For model classes that cannot be annotated (third-party code), a {@link TargetSpec} names the
 * classes and gives a {@link LoraConfig}: as a file on the command line,
 * {@code -javaagent:lora4j-runtime.jar=config=lora.json} (the option may repeat:
 * {@code config=a.json,config=b.json}; the file format is described in {@link TargetSpec}), or in
 * code, {@link #install(Path)} and {@link #install(LoraConfig, String...)}. A bad file stops the JVM
 * at start with one line naming the file and the field.
 *
 * <p>Every constructor of a named class is instrumented (the class is matched by its name). When the
 * <em>outermost</em> one finishes, the agent does what {@code Lora.wrap(model, config)} does: the base
 * is frozen and adapter {@code default} goes on the targeted layers of the object's whole module
 * tree; {@link dev.lora4j.Lora#adopt Lora.adopt(model)} then gives the {@code LoraModel}, with the
 * spec's config. Outermost means that no constructor of a named class is still running below it on
 * the thread's stack, so:
 *
 * <ul>
 *   <li>a constructor that delegates with {@code this(...)} adapts once, when the delegating one ends;
 *   <li>a named subclass of a named class adapts once, when the subclass constructor ends, with the
 *       whole object built, by the <em>subclass's</em> spec;
 *   <li>a subclass that no spec names is adapted when its named superclass's constructor ends, by
 *       that superclass's spec: the subclass's own fields are not set yet, so its own layers are
 *       not seen (they are neither adapted nor frozen). Name the subclass too to have them;
 *   <li>a named model built inside the constructor of another named model (as one of its parts) is
 *       not adapted on its own: the enclosing model's adaptation covers its whole module tree. A
 *       named model built that way but kept outside the enclosing model's tree gets no adapters.
 * </ul>
 *
 * <p>A spec that matches no layer of a constructed model fails its constructor with an {@code
 * IllegalArgumentException} naming the spec, the targets and every module path of the model. A class
 * should be adapted either through {@code @LoRA} fields or through a spec, not both (the two would
 * put adapters of the same name on the model).
 */
public final class LoraAgent {

    private LoraAgent() {}

    /**
     * Called by the JVM for {@code -javaagent:}, before {@code main}. When an option or a target
     * spec is invalid, one line naming the file and the field is printed to {@code System.err} and
     * the JVM exits with status 1 before {@code main} (a throwing {@code premain} would abort the JVM
     * with a native stack dump instead).
     *
     * @param arguments the text after {@code =}, or {@code null}: {@code config=<file>} options
     * @param instrumentation supplied by the JVM
     */
    public static void premain(@Nullable String arguments, Instrumentation instrumentation) {
        List<TargetSpec> specs;
        try {
            specs = startupSpecs(arguments);
        } catch (IllegalArgumentException e) {
            System.exit(1);
            return;
        }
        AgentInstaller.install(instrumentation, AgentInstallation.Mode.PREMAIN, specs);
    }

    /**
     * Called by the JVM when the agent jar is attached to a running JVM; classes already loaded
     * are retransformed.
     *
     * @param arguments the agent arguments, or {@code null}: {@code config=<file>} options
     * @param instrumentation supplied by the JVM
     * @throws IllegalArgumentException with one line naming the file and the field when an option or
     *     a target spec is invalid (the running JVM is left alone)
     */
    public static void agentmain(@Nullable String arguments, Instrumentation instrumentation) {
        AgentInstaller.install(instrumentation, AgentInstallation.Mode.AGENTMAIN, startupSpecs(arguments));
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

    /**
     * Installs the agent (as {@link #install()} does) with the target spec in {@code config}, or adds
     * the spec to the running agent. Named classes loaded later are adapted at construction; one
     * already loaded is retransformed when the agent was attached at run time, and refused with
     * {@code -javaagent} (pass the file as {@code -javaagent:...=config=<file>} instead). Adding
     * the same file again changes nothing.
     *
     * @throws dev.lora4j.io.PeftConfigException in one line naming the file and the field when the
     *     spec is invalid
     * @throws UncheckedIOException when the file cannot be read
     * @throws IllegalArgumentException when a class is already named by another spec
     */
    public static synchronized AgentInstallation install(Path config) {
        return install(List.of(read(config)));
    }

    /**
     * Installs the agent (as {@link #install()} does) adapting the classes named {@code
     * modelClasses} with {@code config}, or adds them to the running agent; see {@link
     * #install(Path)}.
     *
     * @param modelClasses binary names, such as {@code com.acme.Encoder} or {@code com.acme.Outer$Encoder}
     */
    public static synchronized AgentInstallation install(LoraConfig config, String... modelClasses) {
        return install(List.of(TargetSpec.of(config, modelClasses)));
    }

    private static AgentInstallation install(List<TargetSpec> specs) {
        AgentInstallation existing = AgentInstaller.installation();
        Instrumentation instrumentation = existing != null ? existing.instrumentation() : ByteBuddyAgent.install();
        return AgentInstaller.install(instrumentation, AgentInstallation.Mode.SELF_ATTACH, specs);
    }

    /**
     * The target specs named by the agent arguments.
     *
     * @throws IllegalArgumentException with one line, also printed to {@code System.err}
     */
    private static List<TargetSpec> startupSpecs(@Nullable String arguments) {
        try {
            List<TargetSpec> specs = new ArrayList<>();
            for (Path config : AgentArguments.parse(arguments).configs()) {
                specs.add(read(config));
            }
            return specs;
        } catch (RuntimeException e) {
            String line = "lora4j agent: " + e.getMessage();
            System.err.println(line);
            throw new IllegalArgumentException(line, e);
        }
    }

    private static TargetSpec read(Path config) {
        try {
            return TargetSpec.read(config);
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException(config + ": no such target spec file (working directory "
                    + Path.of("").toAbsolutePath() + ")", e);
        } catch (IOException e) {
            throw new UncheckedIOException(config + ": cannot read the target spec: " + e, e);
        }
    }

    /**
     * The config of the target spec in force for {@code modelClass} (naming it or its nearest named
     * superclass), as the agent adapts its instances at construction.
     */
    public static Optional<LoraConfig> targetConfig(Class<?> modelClass) {
        return Optional.ofNullable(AgentInstaller.targetConfig(modelClass));
    }

    /** The installation, when the agent runs in this JVM. */
    public static Optional<AgentInstallation> installation() {
        return Optional.ofNullable(AgentInstaller.installation());
    }
}
