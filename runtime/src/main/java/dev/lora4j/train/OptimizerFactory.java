package dev.lora4j.train;

import dev.lora4j.nn.Module;

/**
 * Makes the optimizer for a model's trainable parameters at the start of
 * {@link Trainer#fit training}. Bind your own in Guice to change the optimizer.
 */
@FunctionalInterface
public interface OptimizerFactory {

    /** An optimizer over {@code model}'s trainable parameters. */
    Optimizer create(Module model);

    /** AdamW (PyTorch defaults) with {@link ParameterGroups#standard standard} decay groups. */
    static OptimizerFactory adamW(double weightDecay) {
        return model -> new AdamW(ParameterGroups.standard(model, weightDecay));
    }

    /** AdamW over {@link ParameterGroups#loraPlus LoRA+} groups. */
    static OptimizerFactory adamWLoraPlus(double weightDecay, double ratio) {
        return model -> new AdamW(ParameterGroups.loraPlus(model, weightDecay, ratio));
    }

    /** SGD with {@link ParameterGroups#standard standard} L2 decay groups. */
    static OptimizerFactory sgd(double momentum, boolean nesterov, double weightDecay) {
        return model -> new Sgd(ParameterGroups.standard(model, weightDecay), momentum, nesterov);
    }
}
