package dev.lora4j.cli;

import dev.lora4j.cli.internal.Errors;
import dev.lora4j.io.CheckpointMerger;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lora4j merge --base <model.safetensors> --adapter <dir> --out <merged.safetensors>}. */
@Command(name = "merge",
        mixinStandardHelpOptions = true,
        description = {
            "Merges a PEFT LoRA adapter into a base safetensors checkpoint.",
            "",
            "Needs no model code: each adapted weight becomes W + s*B*A (transposed for fan_in_fan_out and"
                    + " embeddings), s = alpha/r (alpha/sqrt(r) with rsLoRA), kept in W's dtype (F16/BF16 are"
                    + " computed in float32); modules_to_save tensors replace theirs, or are added when the base"
                    + " lacks them (a new classification head); every other tensor is copied byte for byte. Adapter modules are matched to base tensors exactly or with/without wrapper"
                    + " prefixes (model., transformer., distilbert., bert., ...); no match or several matches is an"
                    + " error. Streams one tensor at a time; the output is written atomically.",
            ""},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:usage error", "2:bad input (missing file, malformed file, adapter that does not fit the base)",
            "3:I/O error", "4:internal error"})
public final class MergeCommand implements Callable<Integer> {

    @Option(names = "--base", required = true, paramLabel = "<model.safetensors>", description = "the base checkpoint")
    Path base;

    @Option(names = "--adapter", required = true, paramLabel = "<adapter dir>",
            description = "the PEFT adapter directory (adapter_config.json + adapter_model.safetensors)")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "<merged.safetensors>", description = "the file to write")
    Path out;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!Files.isDirectory(adapter)) {
            throw new Errors.UserError(Files.exists(adapter) ? "--adapter " + adapter + " is not a directory"
                    : "no such file or directory: " + adapter);
        }
        if (Files.isDirectory(base)) {
            throw new Errors.UserError("--base " + base + " is a directory; name the .safetensors file");
        }
        CheckpointMerger.Result result = CheckpointMerger.merge(base, adapter, out);
        PrintWriter printer = spec.commandLine().getOut();
        printer.println("merged " + result.merged().size() + " LoRA modules, replaced " + result.replaced().size()
                + " tensors, added " + result.added().size() + ", copied " + result.copied() + " unchanged -> " + out);
        result.added().forEach((name, tensor) -> printer.println("added " + name + " " + Arrays.toString(tensor.shape())
                + " " + tensor.dtype().safetensorsName() + " from " + tensor.name() + " (modules_to_save; not in the base)"));
        printer.flush();
        return ExitCodes.OK;
    }
}
