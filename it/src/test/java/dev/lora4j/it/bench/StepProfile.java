package dev.lora4j.it.bench;

import dev.lora4j.agent.LoraAgent;
import dev.lora4j.cli.internal.ProcessDefaults;
import dev.lora4j.samples.minilm.GenreData;
import dev.lora4j.train.internal.DataParallel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where a main-job training step's time goes, on both sides: lora4j's step on one worker under Java
 * Flight Recorder (Java and native-method samples every 10 ms, each attributed to the innermost
 * lora4j frame of its stack, {@code Class.method}, oneDNN's primitive plumbing skipped so that a
 * primitive's time goes to the kernel or product that ran it), and the PyTorch peer's same step under {@code
 * torch.profiler} (self CPU time per operator), printed one after the other.
 *
 * <p>{@code cd it && OMP_NUM_THREADS=1 MAVEN_OPTS=-Xmx2g mvn -B -ntp -q exec:java
 * -Dexec.classpathScope=test -Dexec.mainClass=dev.lora4j.it.bench.StepProfile -Dexec.args="8"}
 * (rounds of 4 steps each, after 2 untimed).
 */
public final class StepProfile {

    private static final int SHOWN = 24;
    /**
     * Classes that run a native call for whoever called them: a sample is attributed to the caller
     * (a GELU or layer-norm kernel, a linear layer's product with its bias, a batched product), not
     * to the primitive's common execute method.
     */
    private static final Set<String> PLUMBING = Set.of("dev.lora4j.autograd.internal.OneDnn",
            "dev.lora4j.autograd.internal.OneDnn$Primitive", "dev.lora4j.autograd.internal.Matmul");

    private StepProfile() {}

    /** Profiles {@code args[0]} rounds (default 8) of each side and prints both breakdowns. */
    public static void main(String[] args) throws IOException {
        ProcessDefaults.apply(); // as the command line runs the main job, before ND4J loads
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        LoraAgent.install();
        MiniLmTraining training = new MiniLmTraining(4);
        Path file = Files.createTempFile("lora4j-step", ".jfr");
        try (DataParallel<GenreData.Batch> one = training.workers(1)) {
            training.steps(one);
            training.steps(one);
            try (Recording recording = new Recording()) {
                recording.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(10));
                recording.enable("jdk.NativeMethodSample").withPeriod(Duration.ofMillis(10));
                recording.start();
                for (int r = 0; r < rounds; r++) {
                    training.steps(one);
                }
                recording.stop();
                recording.dump(file);
            }
        }
        System.out.printf(Locale.ROOT, "lora4j, 1 worker: %d rounds of %d steps, JFR samples by innermost lora4j frame%n",
                rounds, training.batches().size());
        System.out.print(table(samplesByFrame(file, Thread.currentThread().getName())));
        Files.deleteIfExists(file);
        Optional<String> missing = TorchPeer.unavailable();
        if (missing.isPresent()) {
            System.out.println("PyTorch peer skipped: " + missing.get());
        } else {
            System.out.print(torchProfile(training, rounds));
        }
        System.exit(0); // ND4J and DJL leave non-daemon threads behind
    }

    /**
     * The samples of one thread (a single worker runs its steps on the calling thread) by their
     * innermost {@code dev.lora4j} frame; stacks without one count as "(outside lora4j)".
     */
    static Map<String, Integer> samplesByFrame(Path file, String thread) throws IOException {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (RecordedEvent event : RecordingFile.readAllEvents(file)) {
            RecordedStackTrace stack = event.getStackTrace();
            if (stack == null || event.getThread("sampledThread") == null
                    || !thread.equals(event.getThread("sampledThread").getJavaName())) {
                continue;
            }
            String frame = "(outside lora4j)";
            for (RecordedFrame f : stack.getFrames()) {
                String type = f.getMethod().getType().getName();
                if (type.startsWith("dev.lora4j.") && !type.startsWith("dev.lora4j.it.") && !PLUMBING.contains(type)) {
                    frame = type.substring(type.lastIndexOf('.') + 1) + "." + f.getMethod().getName();
                    break;
                }
            }
            counts.merge(frame, 1, Integer::sum);
        }
        return counts;
    }

    private static String table(Map<String, Integer> counts) {
        int total = counts.values().stream().mapToInt(Integer::intValue).sum();
        List<Map.Entry<String, Integer>> sorted = new ArrayList<>(counts.entrySet());
        sorted.sort(Map.Entry.<String, Integer>comparingByValue().reversed());
        StringBuilder out = new StringBuilder();
        for (Map.Entry<String, Integer> e : sorted.subList(0, Math.min(SHOWN, sorted.size()))) {
            out.append(String.format(Locale.ROOT, "  %5.1f%%  %s%n", 100.0 * e.getValue() / total, e.getKey()));
        }
        out.append(String.format(Locale.ROOT, "  (%d samples)%n", total));
        return out.toString();
    }

    private static String torchProfile(MiniLmTraining training, int rounds) throws IOException {
        List<String> command = new ArrayList<>(List.of(TorchPeer.PYTHON.toString(),
                MainJobBenchmark.PEER_SCRIPT.toAbsolutePath().toString(), "--profile", Integer.toString(rounds),
                Integer.toString(MiniLmTraining.BATCH)));
        training.batches().forEach(b -> command.add(Long.toString(b.length())));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(Map.of("OPENBLAS_NUM_THREADS", "1", "OMP_NUM_THREADS", "1", "TORCH_THREADS", "1"));
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return String.format(Locale.ROOT, "torch, 1 thread: %d rounds, torch.profiler self CPU time by operator%n%s",
                rounds, output);
    }
}
