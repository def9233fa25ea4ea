package dev.lora4j.cli.internal;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.io.AdapterException;
import dev.lora4j.io.AdapterFiles;
import dev.lora4j.io.PeftAdapterConfig;
import dev.lora4j.io.SafetensorsFile;
import dev.lora4j.io.TensorInfo;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.io.internal.AdapterTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * What an adapter directory holds, read from its config and the weights file's header only (no
 * tensor data): each adapted module with its kind (a DoRA module's kind says so, e.g. {@code
 * linear+dora}), rank, alpha, scaling, factor shapes and parameter count (a DoRA magnitude vector
 * included), the other tensors, and totals.
 */
public final class AdapterInspection {

    /**
     * One adapted module.
     *
     * @param dora whether it has a DoRA magnitude vector (counted in {@code parameters})
     */
    public record Module(String path, String kind, boolean dora, int r, double alpha, double scaling, long[] aShape,
            long[] bShape, long parameters) {}

    /** A tensor that is not a LoRA factor ({@code modules_to_save} parameter, bias). */
    public record Other(String name, String dtype, long[] shape, long parameters) {}

    private static final String NOT_SET = "(not set)";

    private final String name;
    private final Path dir;
    private final PeftAdapterConfig config;
    private final List<Module> modules;
    private final List<Other> others;
    private final long fileBytes;

    private AdapterInspection(String name, Path dir, PeftAdapterConfig config, List<Module> modules, List<Other> others,
            long fileBytes) {
        this.name = name;
        this.dir = dir;
        this.config = config;
        this.modules = modules;
        this.others = others;
        this.fileBytes = fileBytes;
    }

    /**
     * Every adapter in {@code dir}, as PEFT's {@code save_pretrained} lays several out: {@code
     * default} in {@code dir} itself (when it holds an {@code adapter_config.json}), then each
     * immediate subfolder holding one, named after it, in name order.
     *
     * @throws Errors.UserError when {@code dir} is not a directory or holds no adapter
     * @throws AdapterException when a factor's rank disagrees with its config
     */
    public static List<AdapterInspection> folder(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new Errors.UserError(Files.exists(dir) ? dir + " is not a directory; name an adapter directory"
                    : "no such file or directory: " + dir);
        }
        List<AdapterInspection> out = new ArrayList<>();
        if (Files.exists(dir.resolve(PeftAdapterConfig.FILE_NAME))) {
            out.add(of(LoraModel.DEFAULT_ADAPTER, dir));
        }
        List<Path> subfolders;
        try (Stream<Path> children = Files.list(dir)) {
            subfolders = children.filter(child -> Files.isRegularFile(child.resolve(PeftAdapterConfig.FILE_NAME))).sorted()
                    .toList();
        }
        for (Path child : subfolders) {
            out.add(of(child.getFileName().toString(), child));
        }
        if (out.isEmpty()) {
            throw new Errors.UserError("no " + PeftAdapterConfig.FILE_NAME + " in " + dir + " nor in any of its subfolders"
                    + " (PEFT saves the adapter 'default' in the folder, every other one in a subfolder of its name)");
        }
        return out;
    }

    /**
     * Reads the adapter {@code name} in {@code dir}.
     *
     * @throws AdapterException when a factor's rank disagrees with the config
     */
    private static AdapterInspection of(String name, Path dir) throws IOException {
        PeftAdapterConfig config = PeftAdapterConfig.read(dir.resolve(PeftAdapterConfig.FILE_NAME));
        Path weights = dir.resolve(AdapterFiles.WEIGHTS_FILE);
        try (SafetensorsFile file = SafetensorsFile.open(weights)) {
            AdapterTensors tensors = AdapterTensors.of(file.header(), file.path().toString());
            List<Module> modules = new ArrayList<>();
            for (AdapterTensors.Pair pair : tensors.pairs().values()) {
                int r = config.rankFor(pair.module());
                if (pair.rank() != r) {
                    throw new AdapterException(file.path() + ": tensor '" + pair.a().name() + "' has shape "
                            + Arrays.toString(pair.a().shape()) + " (rank " + pair.rank() + ") but "
                            + PeftAdapterConfig.FILE_NAME + " gives " + pair.module() + " r=" + r);
                }
                String kind = pair.embedding() ? "embedding" : pair.convolution() ? "conv" : "linear";
                TensorInfo magnitude = pair.magnitude();
                modules.add(new Module(pair.module(), magnitude != null ? kind + "+dora" : kind, magnitude != null, r,
                        config.alphaFor(pair.module()), config.scalingFor(pair.module()), pair.a().shape(),
                        pair.b().shape(), pair.a().numElements() + pair.b().numElements()
                                + (magnitude != null ? magnitude.numElements() : 0)));
            }
            List<Other> others = new ArrayList<>();
            for (TensorInfo info : tensors.others().values()) {
                others.add(new Other(info.name(), info.dtype().safetensorsName(), info.shape(), info.numElements()));
            }
            return new AdapterInspection(name, dir, config, modules, others, Files.size(weights));
        }
    }

    /** The adapter's name: {@code default} for the folder itself, else its subfolder's name. */
    public String name() {
        return name;
    }

    /** The adapted modules, in file order. */
    public List<Module> modules() {
        return modules;
    }

    /** The other tensors, in file order. */
    public List<Other> others() {
        return others;
    }

    /** Parameters in LoRA factors and DoRA magnitude vectors. */
    public long loraParameters() {
        return modules.stream().mapToLong(Module::parameters).sum();
    }

    /** Parameters in other tensors. */
    public long otherParameters() {
        return others.stream().mapToLong(Other::parameters).sum();
    }

    /** A human-readable report. */
    public String text() {
        StringBuilder out = new StringBuilder();
        out.append("adapter  ").append(name).append("  (").append(dir).append(")\n");
        out.append("config   peft_type ").append(config.peftType())
                .append(", r ").append(config.r())
                .append(", lora_alpha ").append(number(config.loraAlpha()))
                .append(", lora_dropout ").append(number(config.loraDropout()))
                .append(", use_rslora ").append(config.useRslora())
                .append(", use_dora ").append(config.useDora())
                .append(", init_lora_weights ").append(config.initLoraWeights() instanceof String init
                        ? "\"" + init + "\"" : config.initLoraWeights())
                .append(", bias ").append(config.bias().peftName())
                .append(", fan_in_fan_out ").append(config.fanInFanOut()).append('\n');
        out.append("         target_modules ").append(config.targetModules().map(Object::toString).orElse(NOT_SET))
                .append(", modules_to_save ").append(config.modulesToSave().isEmpty() ? "(none)" : config.modulesToSave())
                .append('\n');
        if (config.excludeModules().isPresent() || !config.layersToTransform().isEmpty()) {
            out.append("         exclude_modules ").append(config.excludeModules().map(Object::toString).orElse(NOT_SET))
                    .append(", layers_to_transform ").append(config.layersToTransform().isEmpty() ? NOT_SET
                            : config.layersToTransform().toString())
                    .append(", layers_pattern ").append(config.layersPattern().isEmpty() ? NOT_SET
                            : config.layersPattern().toString()).append('\n');
        }
        if (!config.rankPattern().isEmpty() || !config.alphaPattern().isEmpty()) {
            out.append("         rank_pattern ").append(config.rankPattern())
                    .append(", alpha_pattern ").append(config.alphaPattern()).append('\n');
        }
        out.append("         task_type ").append(config.taskType().orElse(NOT_SET))
                .append(", base_model_name_or_path ").append(config.baseModelNameOrPath().orElse(NOT_SET))
                .append(", peft_version ").append(config.peftVersion().orElse("(not recorded)")).append('\n');
        out.append('\n');
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"module", "kind", "r", "alpha", "scaling", "A", "B", "params"});
        for (Module m : modules) {
            rows.add(new String[] {m.path(), m.kind(), Integer.toString(m.r()), number(m.alpha()), number(m.scaling()),
                Arrays.toString(m.aShape()), Arrays.toString(m.bShape()), count(m.parameters())});
        }
        table(out, rows);
        if (!others.isEmpty()) {
            out.append('\n');
            List<String[]> otherRows = new ArrayList<>();
            otherRows.add(new String[] {"other tensor (modules_to_save, bias)", "dtype", "shape", "params"});
            for (Other o : others) {
                otherRows.add(new String[] {o.name(), o.dtype(), Arrays.toString(o.shape()), count(o.parameters())});
            }
            table(out, otherRows);
        }
        out.append('\n').append("totals: ").append(modules.size()).append(" adapted modules, ")
                .append(count(loraParameters())).append(" LoRA parameters; ")
                .append(others.size()).append(" other tensors, ").append(count(otherParameters())).append(" parameters; ")
                .append(count(loraParameters() + otherParameters())).append(" parameters in all, ")
                .append(count(fileBytes)).append(" bytes on disk\n");
        return out.toString();
    }

    /** The report as JSON: the whole config, the modules, the other tensors and totals. */
    public ObjectNode json() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode root = f.objectNode();
        root.put("name", name);
        root.put("adapter", dir.toString());
        root.set("config", config.toJson());
        ArrayNode ms = root.putArray("modules");
        for (Module m : modules) {
            ObjectNode o = ms.addObject();
            o.put("module", m.path());
            o.put("kind", m.kind());
            o.put("variant", m.dora() ? "dora" : "lora");
            o.put("r", m.r());
            o.put("alpha", m.alpha());
            o.put("scaling", m.scaling());
            shape(o.putArray("a_shape"), m.aShape());
            shape(o.putArray("b_shape"), m.bShape());
            o.put("parameters", m.parameters());
        }
        ArrayNode os = root.putArray("other_tensors");
        for (Other t : others) {
            ObjectNode o = os.addObject();
            o.put("name", t.name());
            o.put("dtype", t.dtype());
            shape(o.putArray("shape"), t.shape());
            o.put("parameters", t.parameters());
        }
        ObjectNode totals = root.putObject("totals");
        totals.put("adapted_modules", modules.size());
        totals.put("lora_parameters", loraParameters());
        totals.put("other_tensors", others.size());
        totals.put("other_parameters", otherParameters());
        totals.put("parameters", loraParameters() + otherParameters());
        totals.put("file_bytes", fileBytes);
        return root;
    }

    private static void shape(ArrayNode array, long[] shape) {
        for (long d : shape) {
            array.add(d);
        }
    }

    private static void table(StringBuilder out, List<String[]> rows) {
        int[] widths = new int[rows.get(0).length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                line.append(String.format(Locale.ROOT, "%-" + widths[i] + "s", row[i]));
                if (i < row.length - 1) {
                    line.append("  ");
                }
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
    }

    private static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }

    private static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }
}
