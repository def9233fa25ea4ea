package dev.lora4j.samples.vision;

import java.util.ArrayList;
import java.util.List;

/**
 * The vision comparison: {@link FashionCnnJob} adapted to Fashion-MNIST classes 5–9 in five ways,
 * each from the same pretrained checkpoint, side by side (test accuracy, trainable parameters,
 * training time, merge check):
 *
 * <ul>
 *   <li>{@code head}: the backbone frozen, only the new head trains;
 *   <li>{@code lora2}, {@code lora4}, {@code lora8}: LoRA (r = 2, 4, 8, alpha = 2r) on the three
 *       convolutions, the new head trained in full ({@code modules_to_save});
 *   <li>{@code full}: every weight trains.
 * </ul>
 *
 * It is {@code lora4j finetune --model fashion-cnn --variants head,lora2,lora4,lora8,full}: every
 * {@code finetune} option applies ({@code --help}), e.g. {@code --max-steps 20 --param
 * pretrain-steps=30 --variants head,lora4} for a short run. Each variant's adapter, curves and
 * model-free merged checkpoint go into its own subdirectory of the output ({@code
 * target/fashion-cnn/<variant>/}).
 */
public final class VisionFineTune {

    /** Every variant, in the order they run. */
    public static final List<String> VARIANTS = List.of("head", "lora2", "lora4", "lora8", "full");

    private VisionFineTune() {}

    /** Runs the comparison; {@code args} are further {@code finetune} options. */
    public static void main(String[] args) {
        List<String> command = new ArrayList<>(List.of("finetune", "--model", FashionCnnJob.NAME));
        if (!List.of(args).contains("--variants")) {
            command.add("--variants");
            command.add(String.join(",", VARIANTS));
        }
        command.addAll(List.of(args));
        dev.lora4j.cli.Main.main(command.toArray(String[]::new)); // exits
    }
}
