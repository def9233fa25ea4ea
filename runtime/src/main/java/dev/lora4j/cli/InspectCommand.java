package dev.lora4j.cli;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.cli.internal.AdapterInspection;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code lora4j inspect <adapter dir> [--json]}: what a PEFT LoRA adapter directory holds. */
@Command(name = "inspect",
        mixinStandardHelpOptions = true,
        description = {
            "Shows what a PEFT LoRA adapter directory holds: the adapter 'default' in the directory itself and"
                    + " every other one in a subfolder of its name, as PEFT saves several.",
            "",
            "Prints the adapter_config.json settings, each adapted module with r, alpha, scaling, A/B shapes"
                    + " and parameter count, the other tensors (modules_to_save, biases) and totals. Reads only the"
                    + " safetensors header.",
            ""},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:usage error", "2:bad input", "3:I/O error", "4:internal error"})
public final class InspectCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "<adapter dir>", description = "the adapter directory")
    Path adapter;

    @Option(names = "--json", description = "print JSON instead of a table")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        List<AdapterInspection> inspections = AdapterInspection.folder(adapter);
        if (json) {
            ObjectNode root = JsonNodeFactory.instance.objectNode();
            root.put("directory", adapter.toString());
            ArrayNode adapters = root.putArray("adapters");
            inspections.forEach(inspection -> adapters.add(inspection.json()));
            spec.commandLine().getOut().println(JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build()
                    .writeValueAsString(root));
        } else {
            if (inspections.size() > 1) {
                spec.commandLine().getOut().println(inspections.size() + " adapters in " + adapter + ": "
                        + inspections.stream().map(AdapterInspection::name).toList() + "\n");
            }
            spec.commandLine().getOut().print(String.join("\n", inspections.stream().map(AdapterInspection::text).toList()));
        }
        spec.commandLine().getOut().flush();
        return ExitCodes.OK;
    }
}
