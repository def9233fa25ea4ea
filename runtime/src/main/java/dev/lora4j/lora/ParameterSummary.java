package dev.lora4j.lora;

import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * How many parameters a model has and how many train, in PEFT's words
 * ({@code trainable params: X || all params: Y || trainable%: Z}), with a table per module.
 *
 * @param trainable the number of trainable scalars
 * @param total the number of all scalars
 * @param rows one row per module that directly owns parameters
 */
public record ParameterSummary(long trainable, long total, List<Row> rows) {

    /**
     * One module's own parameters.
     *
     * @param path the module's path ({@code ""} for the root)
     * @param type the module's class name
     * @param parameters its own scalars
     * @param trainable its own trainable scalars
     */
    public record Row(String path, String type, long parameters, long trainable) {}

    /** Counts the parameters of {@code model}, each shared parameter once. */
    public static ParameterSummary of(Module model) {
        Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Row> rows = new ArrayList<>();
        long trainable = 0;
        long total = 0;
        for (Map.Entry<String, Module> entry : model.namedModules().entrySet()) {
            long own = 0;
            long ownTrainable = 0;
            for (Parameter p : entry.getValue().directParameters().values()) {
                if (seen.add(p)) {
                    own += p.count();
                    ownTrainable += p.isTrainable() ? p.count() : 0;
                }
            }
            if (own > 0) {
                rows.add(new Row(entry.getKey(), entry.getValue().getClass().getSimpleName(), own, ownTrainable));
                total += own;
                trainable += ownTrainable;
            }
        }
        return new ParameterSummary(trainable, total, List.copyOf(rows));
    }

    /** The share of trainable scalars, in percent. */
    public double trainablePercent() {
        return total == 0 ? 0 : 100.0 * trainable / total;
    }

    /** PEFT's one-line summary. */
    public String line() {
        return String.format(Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f",
                trainable, total, trainablePercent());
    }

    /** The per-module table followed by the one-line summary. */
    public String table() {
        int width = "module".length();
        for (Row row : rows) {
            width = Math.max(width, row.path().isEmpty() ? 6 : row.path().length());
        }
        StringBuilder out = new StringBuilder();
        String format = "%-" + width + "s  %-22s %14s %14s%n";
        out.append(String.format(Locale.ROOT, format, "module", "type", "params", "trainable"));
        for (Row row : rows) {
            out.append(String.format(Locale.ROOT, format, row.path().isEmpty() ? "(root)" : row.path(), row.type(),
                    String.format(Locale.ROOT, "%,d", row.parameters()),
                    String.format(Locale.ROOT, "%,d", row.trainable())));
        }
        return out.append(line()).append(System.lineSeparator()).toString();
    }

    @Override
    public String toString() {
        return line();
    }
}
