package dev.lora4j.it.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * The CPU a benchmark ran on, as {@code /proc/cpuinfo} names it: development machines of one
 * kind are not all the same model (an Intel Xeon one day, an AMD EPYC the next), and every
 * side-by-side ratio depends on it.
 */
final class MachineDescription {

    private MachineDescription() {}

    /** For example {@code "AMD EPYC (family 26, model 2), 2 cores, AVX-512"}. */
    static String describe() {
        String info;
        try {
            info = Files.readString(Path.of("/proc/cpuinfo"));
        } catch (IOException e) {
            return "unknown CPU (" + e.getMessage() + "), " + Runtime.getRuntime().availableProcessors() + " cores";
        }
        String flags = field(info, "flags").orElse("") + " ";
        return String.format(Locale.ROOT, "%s (family %s, model %s), %d cores, %s",
                field(info, "model name").orElse("unknown CPU"), field(info, "cpu family").orElse("?"),
                field(info, "model").orElse("?"), Runtime.getRuntime().availableProcessors(),
                flags.contains(" avx512f ") ? "AVX-512" : flags.contains(" avx2 ") ? "AVX2" : "no AVX2");
    }

    /** As a JSON object of the results file. */
    static String json() {
        return "{\"name\": \"machine\", \"cpu\": \"" + describe().replace("\"", "'") + "\"}";
    }

    private static Optional<String> field(String cpuinfo, String name) {
        return cpuinfo.lines()
                .filter(l -> l.startsWith(name) && l.substring(name.length()).strip().startsWith(":"))
                .findFirst()
                .map(l -> l.substring(l.indexOf(':') + 1).strip());
    }
}
