package dev.lora4j.it.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * The CPU a benchmark runs on, as {@code /proc/cpuinfo} names it: development machines of one
 * kind are not all the same model (an Intel Xeon one day, an AMD EPYC the next), and every
 * side-by-side ratio depends on it.
 */
final class MachineDescription {

    /** The widest vector instructions a CPU has, as far as the benchmarks care. */
    enum VectorInstructions {
        AVX512("AVX-512"),
        AVX2("AVX2"),
        OLDER("no AVX2");

        private final String label;

        VectorInstructions(String label) {
            this.label = label;
        }
    }

    private MachineDescription() {}

    /** For example {@code "AMD EPYC (family 26, model 2), 2 cores, AVX-512"}. */
    static String describe() {
        Optional<String> info = cpuinfo();
        if (info.isEmpty()) {
            return "unknown CPU, " + Runtime.getRuntime().availableProcessors() + " cores";
        }
        return String.format(Locale.ROOT, "%s (family %s, model %s), %d cores, %s",
                field(info.get(), "model name").orElse("unknown CPU"), field(info.get(), "cpu family").orElse("?"),
                field(info.get(), "model").orElse("?"), Runtime.getRuntime().availableProcessors(),
                vectorInstructions(info.get()).label);
    }

    /** This CPU's widest vector instructions; empty when {@code /proc/cpuinfo} cannot be read. */
    static Optional<VectorInstructions> vectorInstructions() {
        return cpuinfo().map(MachineDescription::vectorInstructions);
    }

    /** As a JSON object of the results file. */
    static String json() {
        return "{\"name\": \"machine\", \"cpu\": \"" + describe().replace("\"", "'") + "\"}";
    }

    private static VectorInstructions vectorInstructions(String cpuinfo) {
        String flags = " " + field(cpuinfo, "flags").orElse("") + " ";
        return flags.contains(" avx512f ") ? VectorInstructions.AVX512
                : flags.contains(" avx2 ") ? VectorInstructions.AVX2 : VectorInstructions.OLDER;
    }

    private static Optional<String> cpuinfo() {
        try {
            return Optional.of(Files.readString(Path.of("/proc/cpuinfo")));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static Optional<String> field(String cpuinfo, String name) {
        return cpuinfo.lines()
                .filter(l -> l.startsWith(name) && l.substring(name.length()).strip().startsWith(":"))
                .findFirst()
                .map(l -> l.substring(l.indexOf(':') + 1).strip());
    }
}
