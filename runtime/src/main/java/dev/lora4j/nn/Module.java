package dev.lora4j.nn;

import dev.lora4j.nn.internal.FieldSlots;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.BiConsumer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A building block of a model: it owns {@link Parameter}s and child modules, found in its fields.
 *
 * <p>A subclass declares its layers as fields and writes its own forward method with the tensor
 * operations; nothing needs registering. Children held in a field, an array, a {@code List} or a
 * {@code Map<String, ?>} get path names such as {@code blocks.0.attention.query}, and their
 * parameters names such as {@code blocks.0.attention.query.weight}. Static and {@code transient}
 * fields are ignored (use {@code transient} for a reference that is not a child).
 */
public abstract class Module {

    private boolean training = true;

    /**
     * Reports this module's own parameters. The default reads the fields; a module that keeps
     * parameters elsewhere overrides this (and calls {@code super} for its fields).
     */
    protected void visitDirectParameters(BiConsumer<String, Parameter> visitor) {
        FieldSlots.parameters(this, visitor);
    }

    /**
     * Reports the random generators this module itself draws from while training (dropout masks),
     * by a name local to the module. The default reports none; {@link Dropout} and layers carrying
     * LoRA adapters with dropout report theirs. A custom module that holds its own generator
     * overrides this so training checkpoints can save its position.
     */
    protected void visitDirectGenerators(BiConsumer<String, Random> visitor) {
    }

    /**
     * Every random generator the model draws from while training, by path (e.g. {@code
     * blocks.0.drop.random}), each generator once (a shared one under the first path found).
     */
    public final Map<String, Random> namedGenerators() {
        Map<String, Random> out = new LinkedHashMap<>();
        Set<Random> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        namedModules().forEach((path, module) -> module.visitDirectGenerators((name, random) -> {
            if (random != null && seen.add(random)) {
                out.put(join(path, name), random);
            }
        }));
        return out;
    }

    /** The slots of the direct children, in field order. */
    public List<ModuleSlot> childSlots() {
        return FieldSlots.children(this);
    }

    /** The direct children by name. */
    public final Map<String, Module> namedChildren() {
        Map<String, Module> children = new LinkedHashMap<>();
        for (ModuleSlot slot : childSlots()) {
            children.put(slot.name(), slot.get());
        }
        return children;
    }

    /** This module (under the name {@code ""}) and every module below it, by path, each once. */
    public final Map<String, Module> namedModules() {
        Map<String, Module> modules = new LinkedHashMap<>();
        Set<Module> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        collectModules("", this, modules, seen);
        return modules;
    }

    private static void collectModules(String path, Module module, Map<String, Module> out, Set<Module> seen) {
        if (!seen.add(module)) {
            return;
        }
        out.put(path, module);
        for (ModuleSlot slot : module.childSlots()) {
            collectModules(join(path, slot.name()), slot.get(), out, seen);
        }
    }

    /** This module's own parameters (not its children's), by name. */
    public final Map<String, Parameter> directParameters() {
        Map<String, Parameter> parameters = new LinkedHashMap<>();
        visitDirectParameters(parameters::put);
        return parameters;
    }

    /**
     * Every parameter of this module and its descendants by full path. A parameter shared by two
     * modules (tied weights) is listed once, under the first path found.
     */
    public final Map<String, Parameter> namedParameters() {
        Map<String, Parameter> parameters = new LinkedHashMap<>();
        Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        namedModules().forEach((path, module) -> module.visitDirectParameters((name, parameter) -> {
            if (seen.add(parameter)) {
                parameters.put(join(path, name), parameter);
            }
        }));
        return parameters;
    }

    /**
     * Reports this module's own buffers: state that is not trained by gradients but belongs in a
     * checkpoint, such as {@link BatchNorm2d}'s running statistics. The default has none. A module
     * changes its buffers in place only, so that holders of the arrays (best-weight snapshots) see
     * the current values.
     */
    protected void visitDirectBuffers(BiConsumer<String, INDArray> visitor) {}

    /**
     * Every buffer of this module and its descendants by full path (PyTorch's names, e.g.
     * {@code features.1.running_mean}); the arrays are the live ones, not copies.
     */
    public final Map<String, INDArray> namedBuffers() {
        Map<String, INDArray> buffers = new LinkedHashMap<>();
        namedModules().forEach((path, module) -> module.visitDirectBuffers((name, buffer) ->
                buffers.put(join(path, name), buffer)));
        return buffers;
    }

    /** Every parameter, each once. */
    public final List<Parameter> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** The parameters that train. */
    public final List<Parameter> trainableParameters() {
        List<Parameter> trainable = new ArrayList<>();
        for (Parameter p : namedParameters().values()) {
            if (p.isTrainable()) {
                trainable.add(p);
            }
        }
        return trainable;
    }

    /** The number of scalars in all parameters. */
    public final long parameterCount() {
        long n = 0;
        for (Parameter p : namedParameters().values()) {
            n += p.count();
        }
        return n;
    }

    /** The number of scalars in trainable parameters. */
    public final long trainableParameterCount() {
        long n = 0;
        for (Parameter p : trainableParameters()) {
            n += p.count();
        }
        return n;
    }

    /** Freezes every parameter of this module and its descendants. */
    public final void freeze() {
        parameters().forEach(p -> p.setTrainable(false));
    }

    /** Makes every parameter of this module and its descendants trainable. */
    public final void unfreeze() {
        parameters().forEach(p -> p.setTrainable(true));
    }

    /** Zeroes the gradients of all parameters. */
    public final void zeroGrad() {
        parameters().forEach(Parameter::zeroGrad);
    }

    /** Whether the module is in training mode (dropout active). */
    public final boolean isTraining() {
        return training;
    }

    /** Sets training mode on this module and every descendant. */
    public final void setTraining(boolean training) {
        namedModules().values().forEach(m -> m.training = training);
    }

    /** Training mode: dropout active. */
    public final void train() {
        setTraining(true);
    }

    /** Evaluation mode: dropout inactive. */
    public final void eval() {
        setTraining(false);
    }

    /** Joins a parent path and a child name with a dot. */
    public static String join(String path, String name) {
        return path.isEmpty() ? name : path + "." + name;
    }
}
