package dev.lora4j.it.crash;

import dev.lora4j.Lora;
import dev.lora4j.io.CheckpointMerger;
import dev.lora4j.lora.LoraAdapter;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import java.nio.file.Path;

/**
 * The child JVM of {@link dev.lora4j.it.CrashSafetyIT}: saves an adapter and writes a merged
 * checkpoint in a loop until it is killed. Generation {@code g} saves A = g and B = g + 0.5 in
 * every factor, so a reader can tell whether a file is one complete generation; merges alternate
 * between two prepared adapter directories.
 *
 * <p>Arguments: the work directory, the first generation, the number of iterations (0: forever).
 */
public final class CrashWorkload {

    /** The model whose adapter is saved: two linears with LoRA r = 8. */
    public static final class Net extends Module {
        final Linear fc = new Linear(256, 256, true, Init.random());
        final Linear out = new Linear(256, 64, true, Init.random());
    }

    private CrashWorkload() {}

    /** A model with adapter {@code default} on fc and out. */
    public static LoraModel<Net> model() {
        Init.seed(1);
        return Lora.wrap(new Net(), LoraConfig.builder().rank(8).alpha(16).targetModules("fc", "out").seed(2).build());
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        long first = Long.parseLong(args[1]);
        long iterations = Long.parseLong(args[2]);
        LoraModel<Net> lora = model();
        System.out.println("ready");
        System.out.flush();
        for (long g = first; iterations == 0 || g < first + iterations; g++) {
            for (var layer : lora.layers().values()) {
                LoraAdapter adapter = layer.adapter(LoraModel.DEFAULT_ADAPTER);
                adapter.a().value().assign(g);
                adapter.b().value().assign(g + 0.5);
            }
            Lora.save(lora, root.resolve("adapter"));
            System.out.println("saved " + g);
            CheckpointMerger.merge(root.resolve("base.safetensors"), root.resolve("source-" + (g % 2)),
                    root.resolve("merged.safetensors"));
            System.out.println("merged " + g);
            System.out.flush();
        }
    }
}
