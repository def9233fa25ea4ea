package dev.lora4j.it.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The PyTorch peer of the main job's step ({@code it/src/test/python/minilm_step_peer.py}) in a
 * child process of Debian's {@code /usr/bin/python3}, one per thread setting, kept alive so that
 * its rounds can be interleaved with lora4j's: {@link #round()} runs one round there and returns
 * when it is done.
 */
public final class TorchPeer implements AutoCloseable {

    /** Debian's python3, which {@code apt-get install python3-torch} serves. */
    public static final Path PYTHON = Path.of("/usr/bin/python3");

    /** The system property that names the OpenBLAS kernels the peer uses, overriding the choice from the CPU. */
    public static final String CORE_TYPE_PROPERTY = "lora4j.peer.openblasCoreType";

    private final Process process;
    private final Writer commands;
    private final BufferedReader replies;

    private TorchPeer(Process process) {
        this.process = process;
        this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        this.replies = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /** Why the peer cannot run here, or empty when it can. */
    public static Optional<String> unavailable() {
        if (!Files.isExecutable(PYTHON)) {
            return Optional.of(PYTHON + " is missing");
        }
        try {
            Process check = new ProcessBuilder(PYTHON.toString(), "-c", "import torch").redirectErrorStream(true).start();
            String output = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!check.waitFor(60, TimeUnit.SECONDS) || check.exitValue() != 0) {
                return Optional.of("torch does not import in " + PYTHON + " (apt-get install python3-torch "
                        + "python3-numpy libopenblas0-pthread): " + output.strip());
            }
            return Optional.empty();
        } catch (IOException | InterruptedException e) {
            return Optional.of(e.toString());
        }
    }

    /**
     * Starts a peer for batches of {@code batch} sentences padded to {@code lengths}.
     *
     * @param threads environment: OPENBLAS_NUM_THREADS (the GEMMs), TORCH_THREADS (intra-op) and
     *     OMP_NUM_THREADS
     */
    public static TorchPeer start(Path script, int batch, List<Long> lengths, Map<String, String> threads) {
        List<String> command = new ArrayList<>(List.of(PYTHON.toString(), script.toString(), Integer.toString(batch)));
        lengths.forEach(l -> command.add(Long.toString(l)));
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
        builder.environment().remove("OPENBLAS_CORETYPE");
        openBlasCoreType().ifPresent(core -> builder.environment().put("OPENBLAS_CORETYPE", core));
        builder.environment().putAll(threads);
        try {
            TorchPeer peer = new TorchPeer(builder.start());
            String ready = peer.replies.readLine();
            if (!"ready".equals(ready)) {
                throw new IllegalStateException("the PyTorch peer did not start: " + ready);
            }
            return peer;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The OpenBLAS kernels the peer is told to use: those the system property
     * {@value #CORE_TYPE_PROPERTY} names, or else the best this CPU's instruction sets run. OpenBLAS
     * picks its kernels from the CPU model and runs generic ones on a model it does not know
     * (Debian's 0.3.21 on a family 6, model 207 Xeon: 25 against 130 GFLOP/s on one thread,
     * BENCHMARKS.md "oneDNN GEMMs"), and an {@code OPENBLAS_CORETYPE} inherited from the machine's
     * environment is not a choice made for this benchmark (one development machine sets
     * {@code Haswell} for every process, which halves the peer's GEMMs on an AVX-512 core), so the
     * peer ignores it. The peer is PyTorch at its best on this machine, not PyTorch slowed by a
     * detection gap or by an unrelated setting.
     */
    public static Optional<String> openBlasCoreType() {
        String chosen = System.getProperty(CORE_TYPE_PROPERTY);
        if (chosen != null && !chosen.isBlank()) {
            return Optional.of(chosen.strip());
        }
        return MachineDescription.vectorInstructions().flatMap(v -> switch (v) {
            case AVX512 -> Optional.of("SkylakeX");
            case AVX2 -> Optional.of("Haswell");
            case OLDER -> Optional.empty();
        });
    }

    /** One round (a training step per batch) in the peer; the milliseconds it reported. */
    public double round() {
        return ask("round");
    }

    /** The peer's GEMM ceiling: {@code gemms} float32 products of n² into a preallocated output; milliseconds. */
    public double ceiling(int n, int gemms) {
        return ask("ceiling " + n + " " + gemms);
    }

    private double ask(String command) {
        try {
            commands.write(command + "\n");
            commands.flush();
            String reply = replies.readLine();
            if (reply == null) {
                throw new IllegalStateException("the PyTorch peer ended");
            }
            return Double.parseDouble(reply.strip());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            commands.write("quit\n");
            commands.flush();
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            // ending anyway
        } finally {
            process.destroyForcibly();
        }
    }
}
