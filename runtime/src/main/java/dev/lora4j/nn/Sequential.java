package dev.lora4j.nn;

import dev.lora4j.autograd.Tensor;
import java.util.ArrayList;
import java.util.List;

/** Modules applied one after another; children are named {@code layers.0}, {@code layers.1}, … */
public class Sequential extends Module implements UnaryModule {

    private final List<Module> layers;

    /** A stack of the given modules, each of which must be a {@link UnaryModule}. */
    public Sequential(Module... layers) {
        this.layers = new ArrayList<>();
        for (Module layer : layers) {
            if (!(layer instanceof UnaryModule)) {
                throw new IllegalArgumentException(layer.getClass().getName()
                        + " takes more than one input and cannot stand in a Sequential");
            }
            this.layers.add(layer);
        }
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor h = x;
        for (Module layer : layers) {
            h = ((UnaryModule) layer).forward(h);
        }
        return h;
    }

    /** The layer at {@code index} (it may have been replaced by an adapter layer). */
    public Module get(int index) {
        return layers.get(index);
    }

    /** The number of layers. */
    public int size() {
        return layers.size();
    }
}
